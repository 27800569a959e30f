"""Typed refusals. Each message is written for the person who will read it.

One class per kind of refusal; the console and the CLI show ``str(error)``
as it is, so a message names what was wrong and, where it can, what to do.
"""

from __future__ import annotations


class SwitchboardError(Exception):
    """Base of every refusal Switchboard expects and explains."""

    about: object = None
    """Which item of a request made of several the refusal is about (one change of a
    permission profile's configuration), so a form can show it at its field; None:
    the request as a whole."""


class InvalidInput(SwitchboardError):
    """Something a person typed or imported cannot be used as it is."""


class InvalidPhoneNumber(InvalidInput):
    """A phone number that cannot be turned into E.164."""


class HipaaRefused(InvalidInput):
    """HIPAA mode refuses what would let protected health information leave (P6)."""


class NotFound(SwitchboardError):
    """The thing asked for does not exist."""


class NotAllowed(SwitchboardError):
    """The actor may not do this action on this target."""


class OptedOut(SwitchboardError):
    """The recipient opted out of SMS (STOP) and has not opted back in."""


class NotMobile(SwitchboardError):
    """SMS can only go to a mobile number."""


class MmsNotSupported(SwitchboardError):
    """The sender number cannot send MMS, or the attachment is not acceptable."""


class AlreadyTaken(SwitchboardError):
    """Another agent took the conversation first."""


class LimitExceeded(SwitchboardError):
    """A product limit was reached; the message names the limit."""


class DatabaseProblem(SwitchboardError):
    """The database file cannot be used; it has not been changed."""


class ConfigProblem(SwitchboardError):
    """The configuration (file, environment or secret file) cannot be used as it is."""


class NotDelivered(SwitchboardError):
    """A provider did not take a message sent on the spot (not through the outbox)."""


class InUse(SwitchboardError):
    """Something other things still use cannot be deleted; ``links`` says where each use is,
    so a screen can open each place."""

    def __init__(self, message: str, links: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.links = links


class WrongStatus(SwitchboardError):
    """The thing is in a state that does not allow this (a finished campaign cannot be paused);
    the message names the state."""


class NoEligibleTargets(SwitchboardError):
    """A campaign cannot start: none of its targets can be sent to; the message says why."""


class NeedsConfirmation(SwitchboardError):
    """The action has consequences the person must see and accept first (a campaign that
    would pass the monthly bundle); ``details`` is what to show them (an Estimate)."""

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.details = details
