"""`conv-oracle snapshot` (not implemented yet)."""


def add_arguments(parser):
    pass


def main(args) -> int:
    raise SystemExit("conv-oracle snapshot: not implemented yet")
