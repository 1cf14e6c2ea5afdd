"""Local batch jobs: provider batch APIs driven from a job kept on disk.

``requests`` reads and checks what to ask, ``submit`` spools it into provider
jobs and submits them step by step, ``poll`` follows them and collects their
answers, ``output`` writes results and status documents; ``store`` keeps it
all in SQLite under the data dir, so any later process can take over. Each
provider's batch wire lives in ``providers/`` (``providers.batching``).
"""
