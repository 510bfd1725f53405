"""The differential property suite, shipped with the package: run it against any target with

    pytest --pyargs conv_oracle.suite --target torch            # or: conv-oracle run
    pytest --pyargs conv_oracle.suite --target mypackage.myconv  # your own kernels
"""
