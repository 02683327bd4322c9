"""Keras' `model.summary()` table, as tf.keras prints it."""

WIDTHS = (29, 26, 10)  # the column widths of Keras' default 65-character table


def _format_shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _row(cells) -> str:
    # Keras starts each row with a space and each later column at a fixed offset (29, 55);
    # a cell too long for its column pushes the next one right, one space apart.
    line = ""
    for cell, width in zip((" " + cells[0], *cells[1:]), WIDTHS):
        line += cell.ljust(width) if len(cell) < width else cell + " "
    return line.rstrip()


def summary_table(model_name: str, rows: list[tuple[str, tuple, int]]) -> str:
    """rows: (layer label, output shape, parameter count) per layer."""
    line, thick = "_" * sum(WIDTHS), "=" * sum(WIDTHS)
    out = [f'Model: "{model_name}"', line, _row(("Layer (type)", "Output Shape", "Param #")), thick]
    for index, (label, shape, params) in enumerate(rows):
        out.append(_row((label, _format_shape(shape), str(params))))
        out.append("" if index + 1 < len(rows) else thick)
    total = sum(params for _, _, params in rows)
    out += [f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0", line]
    return "\n".join(out)
