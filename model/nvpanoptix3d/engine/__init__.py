"""Training machinery and actions (Lightning, checkpoints, status.json, export); uses the network, never the reverse."""
