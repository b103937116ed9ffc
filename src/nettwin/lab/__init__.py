"""A real network to mirror: FRR routers running OSPF in Linux network namespaces."""
