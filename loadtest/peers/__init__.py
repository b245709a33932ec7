"""The peer benchmark: the serving frameworks users would pick instead of ours, each serving our
model in its own environment (`python -m loadtest.peers`)."""
