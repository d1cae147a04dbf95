"""The one error type for bad user input.

Every config, workload and file check raises :class:`InputError`; the CLI turns it
into one line on stderr and exit status 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input: names the field, the value given and what is allowed.

    >>> str(InputError("n_pe", 0, "an integer >= 1"))
    'n_pe = 0 is not allowed: expected an integer >= 1'
    >>> str(InputError.plain("weights file /x.npz not found"))
    'weights file /x.npz not found'
    """

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r} is not allowed: expected {allowed}")

    @classmethod
    def plain(cls, message: str) -> InputError:
        """An error whose message is already one complete sentence."""
        err = cls.__new__(cls)
        err.field, err.value, err.allowed = "", None, ""
        ValueError.__init__(err, message)
        return err
