"""The sliding-window size rules shared by convolution and pooling (and its transpose), with the
working shown."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import holds


def window_output(n: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                  ceil_mode: bool = False) -> int:
    """Output length of a window sliding over `n` with `padding` on each side (torch's rule).

    floor((n + 2p - d(k-1) - 1) / s) + 1; with ceil_mode the division rounds up, but a window
    must start inside the input or its left padding, so there are at most ceil((n + p) / s).
    """
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        # ⌈(span + s)/s⌉ windows, but at most ⌈(n + p)/s⌉ start inside the input or its left
        # padding: the smaller is ⌈(n + p + min(0, slack))/s⌉, as the two differ by `slack`
        slack = stride + padding - dilation * (kernel - 1) - 1
        out = -(-(n + padding + min(0, slack)) // stride)
    else:
        out = span // stride + 1
    if not holds(out >= 1):
        raise SpecError(
            f"the window ({_window_text(kernel, dilation)}) does not fit the padded input "
            f"({n} + 2·{padding} = {n + 2 * padding}): the output would be empty",
            hint="use a smaller kernel or dilation, more padding, or a larger input",
        )
    return out


def transposed_output(n: int, kernel: int, stride: int, padding: int, output_padding: int = 0,
                      dilation: int = 1) -> int:
    """Output length of a transposed convolution over `n` (torch's rule):
    (n − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    out = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if not holds(out >= 1):
        raise SpecError(
            f"the output would be empty: ({n} − 1)·{stride} − 2·{padding} + {dilation}·({kernel} − 1) + "
            f"{output_padding} + 1 = {out}",
            hint="use less padding, or a larger kernel, stride or input",
        )
    return out


def window_working(n: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                   ceil_mode: bool = False) -> list[str]:
    """The lecture's arithmetic for `window_output`, one step a line."""
    rounding = "⌈" if ceil_mode else "⌊"
    closing = "⌉" if ceil_mode else "⌋"
    effective = dilation * (kernel - 1) + 1
    span = n + 2 * padding - effective
    lines = [
        f"out = {rounding}(n + 2p − d·(k − 1) − 1) / s{closing} + 1",
        f"    = {rounding}({n} + 2·{padding} − {dilation}·({kernel} − 1) − 1) / {stride}{closing} + 1",
        f"    = {rounding}{span} / {stride}{closing} + 1",
    ]
    out = window_output(n, kernel, stride, padding, dilation, ceil_mode)
    quotient = out - 1
    if ceil_mode and (-(-span // stride)) != quotient:
        lines.append(f"    = {-(-span // stride) + 1} − 1 (the last window would start in the padding)")
    else:
        lines.append(f"    = {quotient} + 1")
    lines.append(f"    = {out}")
    if dilation == 1 and not ceil_mode:
        lines.append(f"(the same as ⌊(n − k + p + s) / s⌋ with p = {2 * padding} in all: "
                     f"⌊({n} − {kernel} + {2 * padding} + {stride}) / {stride}⌋ = {out})")
    return lines


def _window_text(kernel: int, dilation: int) -> str:
    if dilation == 1:
        return f"kernel {kernel}"
    return f"kernel {kernel} dilated by {dilation} spans {dilation * (kernel - 1) + 1}"
