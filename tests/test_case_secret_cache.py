"""What the trusted checks cache about a case is keyed by the seed its draw really uses: a course's secret
changes the draw, so a value cached for one course (or outside any) is never reused for another."""
import numpy as np

from grading.course.case_secret import create_course_secret
from grading.gradient_check.registry import get_exercise
from grading.trusted.cases import course_cases


def test_the_solution_route_cache_follows_the_course_secret(tmp_path):
    from grading.exercises.glm import solution_route_losses

    case = next(check for check in get_exercise("glm_natural_parameter").trusted
                if check.name == "glm_routes").cases[0]
    plain = solution_route_losses(case)
    create_course_secret(tmp_path)
    with course_cases(tmp_path):
        in_course = solution_route_losses(case)
    assert not np.allclose(plain, in_course)    # another draw: the cache did not answer with the plain one
    assert np.array_equal(solution_route_losses(case), plain)
