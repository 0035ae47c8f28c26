"""The one error type the CLI turns into a clear one-line message and a non-zero exit."""


class PocketBatchError(Exception):
    """Bad input or an impossible request: the message names the file and what is wrong."""

    exit_code = 2
