"""The comparison policy: the one place that says how a student's returned value is read
(:mod:`.arrays`), which precision it is judged at (:mod:`.precision`) and when two arrays are
close (:mod:`.closeness`).

Every judge of the course uses it: the notebook's test cells, ``check_backpropagation`` (the
report and ``backprop-labs check``) and the trusted checks that write the official grade, so a
piece of work gets one verdict everywhere. NumPy only, and nothing of the grader is imported
here: :mod:`.arrays` is also shipped into the sandbox beside ``student_side.py``.
"""
