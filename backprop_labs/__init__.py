"""Shared, non-exercise code of the backprop labs.

Everything a lab needs that is not itself an exercise lives here once: numerical
utilities, data readers, the log-linear models students read, the perturbation
helpers for tangent plots and the tools that generate the student package.

Conventions used by every model in the labs:

* a batch ``input`` has shape ``(B, I)``: one row per example;
* a layer's weight ``W`` has shape ``(out, in)`` and its bias ``b`` shape ``(1, out)``;
* the pre-activation is ``z = input @ W.T + b`` with shape ``(B, out)``;
* ``output`` holds class indices, shape ``(B,)``;
* every gradient is of the MEAN cross-entropy over the batch.
"""
