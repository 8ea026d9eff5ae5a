"""Which nbgrader test cells each trusted check scores, per assignment.

A test cell listed here gets ``points * fraction of the check's cases that match`` as its
autograded score, whatever the in-kernel test printed; cells not listed keep nbgrader's
in-kernel score. One line per (assignment, check).
"""
TRUSTED_CELLS = {
    "backprop_mlp": {
        "log_linear_bias_gradient": ("test_2_1_bias_gradient",),
        "numpy_mlp_backpropagation": ("test_2_2_output_layer", "test_2_2_all_layers", "test_2_2_hidden"),
        "pytorch_mlp_log_forward": ("test_2_4_log_forward", "test_2_4_hidden"),
    },
}


def checks_for(assignment):
    """``{check name: (test cell id, ...)}`` for an assignment (empty if it has none)."""
    return TRUSTED_CELLS.get(assignment, {})
