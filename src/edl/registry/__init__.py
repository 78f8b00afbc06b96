"""The licence registry (信息系统): import, events, synthetic data."""
