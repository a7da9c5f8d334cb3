"""Event type and session state names are the library's own."""

import offkv
from offkv import _offkv


def test_event_type_names_are_the_librarys():
    for member in offkv.EventType:
        assert _offkv.offkv_event_type_name(int(member)) == member.name
    assert offkv.EventType.NOT_LEADER.name == "NOT_LEADER"
    for bad in (0, -1, 11, 2**31 - 1):
        assert _offkv.offkv_event_type_name(bad) == "UNKNOWN"


def test_session_state_names_are_the_librarys():
    for member in offkv.SessionState:
        assert _offkv.offkv_session_state_name(int(member)) == member.name
    for bad in (0, -1, 5):
        assert _offkv.offkv_session_state_name(bad) == "UNKNOWN"
