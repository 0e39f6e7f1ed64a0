from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given, strategies as st

import pywatt.core.redact as redact_mod
from pywatt.core.redact import REDACTED, Redactor, spellings

# A secret that shares characters with the marker at its edge could be re-formed by the
# replacement itself ("D]x" next to an "x"); real secrets do not look like that.
secret_values = st.text(min_size=1, max_size=40).filter(
    lambda s: "[" not in s and "]" not in s and s not in REDACTED
)


def test_replaces_every_occurrence():
    r = Redactor()
    r.register("hunter2")
    assert r.redact("pw=hunter2; again hunter2.") == f"pw={REDACTED}; again {REDACTED}."


def test_longest_match_wins():
    r = Redactor()
    r.register("abc")
    r.register("abcdef")
    assert r.redact("xabcdefy abc") == f"x{REDACTED}y {REDACTED}"


def test_nothing_registered_returns_the_same_string():
    r = Redactor()
    text = "nothing to hide " * 10
    assert r.redact(text) is text
    assert r.count() == 0


def test_empty_value_is_ignored():
    r = Redactor()
    r.register("")
    assert r.count() == 0
    assert r.redact("abc") == "abc"


def test_non_string_value_is_rejected():
    r = Redactor()
    with pytest.raises(TypeError, match="must be str, not bytes"):
        r.register(b"abc")  # type: ignore[arg-type]


def test_count_is_of_distinct_values():
    r = Redactor()
    for value in ("a1", "b2", "a1"):
        r.register(value)
    assert r.count() == 2


def test_clear_forgets_values():
    r = Redactor()
    r.register("s3cret")
    r.clear()
    assert r.count() == 0
    assert r.redact("s3cret") == "s3cret"


def test_json_escaped_form_is_redacted():
    secret = 'p"a\\ss\n\u00e9\u2603'
    r = Redactor()
    r.register(secret)
    for ascii_only in (False, True):
        line = json.dumps({"msg": f"using {secret} now"}, ensure_ascii=ascii_only)
        out = r.redact(line)
        assert json.loads(out) == {"msg": f"using {REDACTED} now"}


@pytest.mark.parametrize("secret", ["it's", 'say "hi"', "both ' and \"", "tab\there", "\x00\x7f"])
def test_repr_forms_are_redacted(secret):
    r = Redactor()
    r.register(secret)
    for shown in (repr(secret), repr(f"ctx {secret} ctx"), repr([secret]), repr(secret.encode())):
        assert secret not in r.redact(shown)
        assert REDACTED in r.redact(shown), shown


def test_spellings_cover_raw_json_and_repr():
    forms = spellings("a'b\n")
    assert {"a'b\n", "a'b\\n", "a\\'b\\n", "a'b\\\\n"} <= forms
    assert "" not in forms


def test_concurrent_registration_keeps_every_value():
    r = Redactor()
    values = [f"tok-{i:04d}-x" for i in range(400)]

    def worker(chunk: list[str]) -> None:
        for v in chunk:
            r.register(v)
            r.redact(v)

    threads = [threading.Thread(target=worker, args=(values[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.count() == len(values)
    assert r.redact(" ".join(values)) == " ".join([REDACTED] * len(values))


def test_module_functions_use_the_global_redactor():
    before = redact_mod.registered_count()
    redact_mod.register_secret("global-test-secret-9f3a")
    redact_mod.register_secret("global-test-secret-9f3a")
    assert redact_mod.registered_count() == before + 1
    assert redact_mod.redact("x global-test-secret-9f3a") == f"x {REDACTED}"
    assert redact_mod.get_redactor().redact("global-test-secret-9f3a") == REDACTED


@given(
    secrets=st.lists(secret_values, min_size=1, max_size=4),
    noise=st.lists(st.text(max_size=10), min_size=5, max_size=5),
)
def test_no_secret_survives_in_any_spelling(secrets, noise):
    r = Redactor()
    for s in secrets:
        r.register(s)
    text = noise[0].join(secrets) + noise[1]
    shown = [text, json.dumps(text), json.dumps(text, ensure_ascii=False), repr(text)]
    shown.append(json.dumps(repr(text), ensure_ascii=False))
    for form in shown:
        out = r.redact(form)
        for s in secrets:
            for spelled in spellings(s):
                assert spelled not in out


def test_package_exports_do_not_shadow_the_redact_module():
    import pywatt.core as core

    for name in ("Redactor", "register_secret", "registered_count"):
        assert getattr(core, name) is getattr(redact_mod, name)
    assert core.redact is redact_mod
