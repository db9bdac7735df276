"""QMIX (Rashid et al. 2018) at pymarl2's settings: shared GRU agents, monotonic hypernetwork mixer."""
