"""Microwave radio physics: ITU-R link budgets, adaptive modulation, rain storms."""
