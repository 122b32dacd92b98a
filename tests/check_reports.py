"""Reading a self-check's report in tests: which lines failed, and with what detail."""


def failed_lines(report):
    """The failed lines of ``report`` as {description: detail}, in the report's order."""
    return {line.description: line.detail for line in report.lines if not line.passed}


def failed_descriptions(report):
    """The descriptions of the failed lines of ``report``, in order, repeats kept."""
    return [line.description for line in report.lines if not line.passed]


def only_failure(report):
    """The one failed line of ``report`` as (description, detail); fails if there are others."""
    failed = [line for line in report.lines if not line.passed]
    assert len(failed) == 1, str(report)
    return failed[0].description, failed[0].detail
