"""A damaged store is refused and left byte for byte as it was."""

import random

from tests.helpers import TINY, run_cli, sha, tiny_store


def _damaged(tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db", orders="standard,preact", seeds=3)
    data = bytearray(db.read_bytes())
    rng = random.Random(0)
    for _ in range(200):  # bytes flipped in data pages (the header page is left intact)
        pos = rng.randrange(4096, len(data))
        data[pos] ^= 0xFF
    db.write_bytes(bytes(data))
    return db


def test_a_damaged_store_is_never_written_to(tmp_path, capsys):
    db = _damaged(tmp_path, capsys)
    before = sha(db)
    code, _, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard,preact",
        "--seeds",
        "4",
        "--store",
        db,
        "--no-report",
    )
    assert code == 3 and "damaged" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sha(db) == before
