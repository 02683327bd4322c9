"""`--tensorboard`: each trial's loss and metrics as TensorBoard event files, written as it trains.

Scalars go to `<trial>/tensorboard/`: `batch/loss` every optimizer step, `epoch/<metric>` and
`epoch/seconds` at each epoch end. Point `tensorboard --logdir STUDY_FOLDER` at a running study to
watch every trial at once. A resumed trial appends to the same folder, from the step it resumed at.
"""

from ..training import Callback


class TensorBoard(Callback):
    def __init__(self, folder):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            raise RuntimeError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(str(folder))

    def on_fit_begin(self, epochs, steps):
        self.steps_per_epoch = steps

    def on_batch_end(self, step, logs):
        self.writer.add_scalar("batch/loss", float(logs.loss), self.loop.epoch * self.steps_per_epoch + step + 1)

    def on_epoch_end(self, epoch, log):
        for name, value in {"loss": log.loss, **log.metrics, "seconds": log.seconds}.items():
            self.writer.add_scalar(f"epoch/{name}", value, epoch + 1)
        self.writer.flush()

    def on_fit_end(self, history):
        self.writer.close()
