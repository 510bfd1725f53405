"""`conv-oracle compare` (not implemented yet)."""


def add_arguments(parser):
    pass


def main(args) -> int:
    raise SystemExit("conv-oracle compare: not implemented yet")
