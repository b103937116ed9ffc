#!/usr/bin/env bash
# Builds the nettwin OCI image without any registry image (`make image`):
#   1. a Debian bookworm minbase root file system with mmdebstrap (cached by its inputs),
#   2. wheels of the project and of its runtime dependencies, pinned to the versions the
#      development environment tests with (pip freeze of .venv as constraints),
#   3. buildah (chroot isolation: this machine runs no container runtime) from those two.
# Environment: IMAGE (tag, default localhost/nettwin:VERSION), PYTHON (the venv's python),
# DEBIAN_MIRROR, SOURCE_DATE_EPOCH (default: the last commit's time, for reproducible dates).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=build/image
python=${PYTHON:-.venv/bin/python}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
packages=python3,python3-venv,ca-certificates,tini,passwd
version=$("$python" -c 'import nettwin; print(nettwin.__version__)')
image=${IMAGE:-localhost/nettwin:$version}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

need=""
command -v buildah >/dev/null || need="$need buildah"
command -v mmdebstrap >/dev/null || need="$need mmdebstrap"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing$need"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need uidmap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need uidmap >/dev/null; }
  else
    echo "make image needs$need (Debian packages; run as root with apt-get)" >&2; exit 3
  fi
fi
mkdir -p "$work/context/wheels"

# 1. Root file system: documentation, manuals and translations left out (about 45 MB);
#    /usr merged by mmdebstrap's hook instead of the usrmerge package (which pulls in perl);
#    apt, e2fsprogs and what only they use purged once installed (about 17 MB: the image
#    installs nothing later, and carries no package manager). libstdc++6 stays: no Debian
#    package needs it then, but the wheels' libraries (llvmlite, scipy) do.
purge="apt adduser debian-archive-keyring gpgv libapt-pkg6.0 libgnutls30 libhogweed6 \
libnettle8 libp11-kit0 libseccomp2 libtasn1-6 libxxhash0 e2fsprogs libext2fs2 libss2 logsave"
key=$(printf '%s %s %s %s v4' "$suite" "$packages" "$mirror" "$purge" | sha256sum | cut -c1-16)
rootfs="$work/rootfs-$key.tar"
if [ ! -s "$rootfs" ]; then
  echo "mmdebstrap: $suite minbase + $packages"
  mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook="chroot \"\$1\" dpkg --purge $purge" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    "$suite" "$rootfs.part" "$mirror"
  mv "$rootfs.part" "$rootfs"
fi
ln -f "$rootfs" "$work/context/rootfs.tar"

# 2. Wheels: the runtime closure of nettwin[api,live,dask] only (no test tools), at the
#    versions installed in the tested environment.
rm -f "$work/context/wheels"/*.whl
"$python" -m pip freeze --exclude-editable > "$work/constraints.txt"
"$python" -m pip wheel --quiet --wheel-dir "$work/context/wheels" \
  --constraint "$work/constraints.txt" ".[api,live,dask]"

# 3. The image.
cp deploy/image/Containerfile "$work/context/Containerfile"
buildah build --isolation chroot --format docker --layers=false \
  --timestamp "$SOURCE_DATE_EPOCH" --tag "$image.unslim" "$work/context"

# 4. Slimming, from the host (the image holds no binutils): test suites and C headers of the
#    installed packages go, shared libraries lose their debugging symbols (llvmlite's alone
#    shrinks from 171 MB). The smoke test then runs numba, scipy and the API inside.
ctr=$(buildah from --pull-never "$image.unslim")
trap 'buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1' EXIT
mnt=$(buildah mount "$ctr")
site="$mnt/opt/nettwin/lib/python3.11/site-packages"
before=$(du -sm "$mnt" | cut -f1)
find "$site" -depth -type d -name tests -path '*/site-packages/*/*' -exec rm -rf {} +
find "$site" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.pxd' -o -name '*.pyx' \
  -o -name '*.c' -o -name '*.cpp' \) -delete
# (Not the libraries auditwheel vendored into *.libs/: patchelf rewrote their headers, and
# strip breaks them, as it did numpy's OpenBLAS.)
find "$site" -type f -name '*.so*' -not -path '*.libs/*' \
  -exec strip --strip-unneeded {} + 2>/dev/null || true
find "$site" -depth -type d -path '*/tornado/test' -exec rm -rf {} +
# Swagger UI's source maps and ES-module builds (for bundlers): /docs loads
# swagger-ui-bundle.js and swagger-ui.css (about 10 MB).
rm -f "$site"/swagger_ui_bundle/vendor/*/*.map "$site"/swagger_ui_bundle/vendor/*/*-es-bundle*.js
# Bytecode: every .pyc pip wrote is stale once buildah dates the files (about 95 MB that
# only cost a stat); checked-hash ones for the modules the pods load (deploy/image/bytecode.py).
find "$site" -name '*.pyc' -delete
find "$site" -depth -type d -name __pycache__ -empty -delete
# Kernels: `nettwin warmup` compiles them into the image's read-only seed for the portable
# CPU target the image's environment names (NUMBA_CPU_NAME=generic), about 3 MB; a fresh
# pod then loads them in a second or two instead of compiling them for half a minute or more.
cache=/opt/nettwin/kernel-cache
cp deploy/image/bytecode.py "$mnt/tmp/bytecode.py"
buildah run --isolation chroot --user 0:0 --env NUMBA_CACHE_DIR=$cache "$ctr" -- \
  /opt/nettwin/bin/python /tmp/bytecode.py
buildah run --isolation chroot --user 0:0 --env NUMBA_CACHE_DIR=$cache "$ctr" -- \
  /opt/nettwin/bin/nettwin warmup
chmod -R a+rX,go-w "$mnt$cache"
echo "kernel cache: $(du -sh "$mnt$cache" | cut -f1), $(find "$mnt$cache" -name '*.nbi' | wc -l) kernels"
rm -rf "$mnt/tmp/bytecode.py"
after=$(du -sm "$mnt" | cut -f1)
echo "slimmed: $before MB -> $after MB"
buildah umount "$ctr" >/dev/null
buildah commit --quiet --squash --format docker --timestamp "$SOURCE_DATE_EPOCH" \
  "$ctr" "$image" >/dev/null
buildah rm "$ctr" >/dev/null
trap - EXIT
buildah rmi "$image.unslim" >/dev/null 2>&1 || true
bytes=$(buildah images --noheading --format '{{.Size}}' "$image" | head -1)
echo "built $image ($bytes)"
echo "$image" > "$work/image-name"
