"""The conformance harness: test suites overcast did not write, run against overcast.

    python -m conformance --localstack PATH --floci PATH

See docs/conformance.md. Nothing of either suite is part of overcast: the harness installs what
each suite needs into scratch virtual environments under its work directory, starts overcast, runs
the suites from the checkouts the user gives, and prints a pass table per service.
"""
