"""How training stops when it can't go on: bad numbers, or the user asking it to stop."""


class NumericalError(RuntimeError):
    """A NaN or infinite loss or gradient: training can't continue from these weights."""

    def __init__(self, what: str, epoch: int, step: int):
        self.epoch, self.step = epoch, step
        super().__init__(
            f"{what} at epoch {epoch + 1}, step {step + 1}; training stopped before the bad update. "
            "Try a lower optimizer.learning_rate, or clip gradients with optimizer.clipnorm / optimizer.clipvalue"
        )


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during fit: raised after the state was saved at a clean step boundary."""
