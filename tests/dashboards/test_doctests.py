"""The examples in the dashboards docstrings (pytest's testpaths do not include dashboards/)."""

import doctest

import pytest

import codesign.study.pareto
import dashboards.analysis
import dashboards.detail
import dashboards.figures
import dashboards.views


@pytest.mark.parametrize(
    "module",
    [
        codesign.study.pareto,
        dashboards.figures,
        dashboards.detail,
        dashboards.analysis,
        dashboards.views,
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
