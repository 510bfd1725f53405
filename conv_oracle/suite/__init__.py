"""Layer 7, the suite (the differential tests): may import layers 0-6, not its peers report and baseline.

The differential property suite, shipped with the package: run it against any target with

    pytest --pyargs conv_oracle.suite --target torch            # or: conv-oracle run
    pytest --pyargs conv_oracle.suite --target mypackage.myconv  # your own kernels
"""
