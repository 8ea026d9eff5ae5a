"""One judge: every entry of the mutation catalogue (the invented mistakes, the re-enacted real ones and the
right-but-different implementations), in each form a student's code takes, gets the same score per test
cell from the notebook's own test cells and from the trusted check that writes the official grade, and
the same causes (see ``one_judge_population``)."""
import pytest

from mutations import MUTATIONS
from one_judge_population import FORMS, WIDE_CASE_FORMS, _cells, in_kernel, population, trusted

CATALOGUE_CAUSE = {m.name: m.cause for m in MUTATIONS if not m.passes}


def _both_ways(form, books):
    graded = []
    for name, backpropagation, right in population():
        if name.endswith(f"[{form}]"):
            graded.append((name, right, in_kernel(backpropagation, books),
                           trusted(backpropagation, wide=form in WIDE_CASE_FORMS)))
    return graded


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("form", list(FORMS))
def test_every_catalogue_entry_scores_the_same_per_cell_both_ways(form, books, one_torch_thread):
    graded = _both_ways(form, books)
    assert len(graded) == len(population()) // len(FORMS)
    full = {grade_id: points for grade_id, (_, points) in _cells().items()}
    for name, right, kernel, official in graded:
        scores = {cell: score for cell, (score, _) in kernel.items()}
        assert scores == {cell: score for cell, (score, _) in official.items()}, (name, kernel, official)
        if right:
            assert scores == full, (name, kernel)
        else:
            assert scores != full, (name, kernel)   # every mistake of the catalogue loses a point somewhere
        named_in_kernel = {cause for _, causes in kernel.values() for cause in causes}
        named_officially = {cause for _, causes in official.values() for cause in causes}
        cause = CATALOGUE_CAUSE.get(name.rsplit(" [", 1)[0])
        assert (cause in named_in_kernel) == (cause in named_officially), (name, kernel, official)
        if form != "float32":   # float32 on the books batch's 13,989 inputs can tip a tie between two value rules
            assert named_in_kernel == named_officially, (name, kernel, official)
