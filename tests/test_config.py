"""The one configuration parser (base/config.c), as C hosts and the Python front end see it:
sizes, address limits, flags, log levels, tracker names."""

import errno

import pytest

from glcoherent import ConfigError, parse_size
from glcoherent._config import parse_flag, parse_log_level, resolve_limit, resolve_tracker
from glcoherent._native import ffi, lib


@pytest.mark.parametrize("text,value", [
    ("4G", 1 << 32), ("3GiB", 3 << 30), ("2048M", 2 << 30), ("0xC0000000", 0xC0000000),
    ("1073741824", 1 << 30), ("64k", 64 << 10), (" 2 GB ", 2 << 30), ("100B", 100),
    ("1t", 1 << 40), ("010", 8),
])
def test_sizes(text, value):
    out = ffi.new("uint64_t *")
    assert lib.glc_parse_size(text.encode(), out) == 0
    assert out[0] == value
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "G", "4X", "-1", "4GG", "0x", "4GiBB", "4BB", "+4",
                                  "99999999999999999999", "0xFFFFFFFFFFFFFFFFG"])
def test_sizes_rejected(text):
    out = ffi.new("uint64_t *")
    assert lib.glc_parse_size(text.encode(), out) == -errno.EINVAL
    with pytest.raises(ConfigError, match="not a size"):
        parse_size(text)


def test_zero_is_a_size_but_not_a_python_size():
    out = ffi.new("uint64_t *")
    assert lib.glc_parse_size(b"0", out) == 0 and out[0] == 0
    with pytest.raises(ConfigError, match="positive"):
        parse_size("0")


@pytest.mark.parametrize("text,rc", [("2G", 0), ("1M", 0), ("4G", 0), ("4G1", -errno.EINVAL),
                                     ("1023k", -errno.ERANGE), ("5G", -errno.ERANGE),
                                     ("x", -errno.EINVAL)])
def test_limits(text, rc, monkeypatch):
    out = ffi.new("uint64_t *")
    assert lib.glc_parse_limit(text.encode(), out) == rc
    monkeypatch.setenv("GLCOHERENT_LIMIT", text)
    if rc == 0:
        assert resolve_limit() == out[0]
    else:
        with pytest.raises(ConfigError, match="GLCOHERENT_LIMIT"):
            resolve_limit()


@pytest.mark.parametrize("text,default,on", [
    (None, 0, 0), (None, 1, 1), ("", 1, 1), ("0", 1, 0), ("off", 1, 0), ("FALSE", 1, 0),
    ("No", 1, 0), ("1", 0, 1), ("yes", 0, 1), ("on", 0, 1), ("2", 0, 1),
])
def test_flags(text, default, on, monkeypatch):
    assert lib.glc_parse_flag(ffi.NULL if text is None else text.encode(), default) == on
    assert parse_flag(text, bool(default)) is bool(on)
    if text is None:
        monkeypatch.delenv("GLCOHERENT_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("GLCOHERENT_TEST_FLAG", text)
    assert lib.glc_env_flag(b"GLCOHERENT_TEST_FLAG", default) == on


@pytest.mark.parametrize("text,level", [
    ("debug", lib.GLCOHERENT_LOG_DEBUG), ("INFO", lib.GLCOHERENT_LOG_INFO),
    ("warn", lib.GLCOHERENT_LOG_WARNING), ("Warning", lib.GLCOHERENT_LOG_WARNING),
    ("error", lib.GLCOHERENT_LOG_ERROR), ("loud", None), ("", None), (None, None),
])
def test_log_levels(text, level):
    out = ffi.new("int *")
    rc = lib.glc_parse_log_level(ffi.NULL if text is None else text.encode(), out)
    assert (rc == 0) == (level is not None)
    if level is not None:
        assert out[0] == level
    assert parse_log_level(text) == level


def test_tracker_names_come_from_the_tracking_layer(monkeypatch):
    from glcoherent._config import TRACKERS
    assert TRACKERS == ("auto", "uffd", "mprotect", "copy")
    assert resolve_tracker("MProtect") == "mprotect"
    monkeypatch.setenv("GLCOHERENT_TRACKER", "bogus")
    with pytest.raises(ConfigError, match="auto, uffd, mprotect, copy"):
        resolve_tracker()
