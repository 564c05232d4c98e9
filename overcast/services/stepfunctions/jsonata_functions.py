"""The functions Step Functions adds to JSONata ("Transforming data with JSONata in Step
Functions"): `$partition`, `$range`, `$hash`, `$random` (which, unlike JSONata's, takes a seed),
`$uuid` and `$parse`. Errors are raised as Python exceptions; the evaluator reports them as
`States.QueryEvaluationError` with the expression's text."""

from __future__ import annotations

import hashlib
import json
import random
import uuid

from jsonata.utils import Utils

_HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _integer(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"The {name} argument must be an integer")
    return int(value)


def partition(array=None, size=None):
    """Chunks of `size` items; the last one may be shorter."""
    if not isinstance(array, list):
        raise ValueError("The first argument of $partition must be an array")
    size = _integer(size, "chunk size")
    if size <= 0:
        raise ValueError("The chunk size argument of $partition must be positive")
    return [list(array[i:i + size]) for i in range(0, len(array), size)]


def range_of(first=None, last=None, step=None):
    """`first`, `first + step`, ... up to `last` included. A JSONata sequence, so a single number
    comes out as that number (as AWS answers for $range(1, 9, 9))."""
    first, last, step = _integer(first, "start"), _integer(last, "end"), _integer(step, "step")
    if step == 0:
        raise ValueError("The step argument of $range must not be zero")
    stop = last + (1 if step > 0 else -1)
    return Utils.create_sequence_from_iter(range(first, stop, step))


def hash_of(data=None, algorithm=None):
    if not isinstance(data, str):
        raise ValueError("The first argument of $hash must be a string")
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(f"The hash algorithm must be one of {', '.join(_HASH_ALGORITHMS)}")
    return hashlib.new(_HASH_ALGORITHMS[algorithm], data.encode()).hexdigest()


def random_number(seed=None):
    """A number in [0, 1); the same seed gives the same number."""
    if seed is None:
        return random.random()
    return random.Random(_integer(seed, "seed")).random()


def new_uuid():
    return str(uuid.uuid4())


def parse(text=None):
    if not isinstance(text, str):
        raise ValueError("The argument of $parse must be a string")
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError("The argument of $parse is not valid JSON") from None


STEP_FUNCTIONS_FUNCTIONS = {"partition": partition, "range": range_of, "hash": hash_of, "random": random_number,
                            "uuid": new_uuid, "parse": parse}
