"""The one exception type the oracle raises for configurations torch rejects."""


class ConvConfigError(ValueError):
    """An invalid convolution configuration.

    ``parameter`` names the offending argument, ``value`` is what was given and
    ``rule`` states the constraint it breaks; the message carries all three.
    """

    def __init__(self, parameter: str, value, rule: str):
        self.parameter = parameter
        self.value = value
        self.rule = rule
        super().__init__(f"{parameter}={value!r}: {rule}")
