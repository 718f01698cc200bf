"""editroom's one error tree. Every failure editroom names is a class below, and each class
says two things about itself: `status`, what the HTTP API answers (service/http/errors.py
reads it), and `retryable`, whether trying the same work again may succeed (the runner's
fail_edit reads it; the sandboxed child's errors cross back as these classes). The 429 and
503s also say when to come back: `retry_after_seconds`, sent as a Retry-After header.

    EditroomError                  500  final    (abstract: raise a subclass)
    ├── ConfigurationError         500  retried  a setting of this process; another may be right
    ├── Forbidden                  403  final
    │   └── BadSignature           403  final    a signed URL forged, altered or expired
    ├── NotFound                   404  final
    ├── Conflict                   409  retried  a state that may change (a race, a busy row)
    │   ├── SessionMoved           409  retried  other steps kept being added meanwhile
    │   └── HeldBySession          409  retried  a media a session's step made: its history
    ├── UploadStalled              408  final    an upload's body stopped arriving
    ├── TooLarge                   413  final
    ├── TooManyQueued              429  retried  the queue is full: back-pressure, try later
    ├── TooManyPending             429  retried  too many presigned uploads still open
    ├── UnsupportedMedia           415  final    not an image or video we read
    ├── InvalidInput               422  final
    │   ├── InvalidParameter       422  final    one named parameter's value
    │   │   ├── UnknownParameter   422  final    a parameter (operation) this kind or route lacks
    │   │   ├── NothingFits        422  final    a batch left out every media it named
    │   │   └── InvalidHeader      400  final    a request header's value (Idempotency-Key)
    │   │       └── UnsupportedContentType  415  final  a body's Content-Type is not JSON
    │   └── InvalidMedia           422  final    broken, hostile, or over a limit
    ├── EditFailed                 422  final    the edit cannot succeed as asked
    │   └── ImportRefused          422  final    a URL, redirect or address not allowed
    ├── SandboxTimeout             422  final    the same input would run as long again
    ├── SandboxOutOfMemory         422  final    ... and need as much memory again
    ├── SandboxInternalError       500  final    an exception of ours these bytes set off
    ├── ObjectMissing              500  final    a stored object is gone
    └── Unavailable                503  retried  our environment's trouble: try again
        ├── DatabaseUnavailable    503  retried
        ├── ChecksBusy             503  retried  every upload check slot stayed taken
        ├── UploadsBusy            503  retried  as many uploads as allowed are under way
        ├── LookupsBusy            503  retried  as many import hosts are being looked up
        ├── StreamsBusy            503  retried  EDITROOM_MAX_EVENT_STREAMS streams are open
        ├── StorageError           503  retried  the bucket or the disk
        ├── ImportUnavailable      502  retried  the source did not answer as it should
        ├── SandboxCrashed         503  retried  the child died without an answer
        ├── SandboxStuck           503  retried  no child started, or took the job, in time
        └── SandboxIOError         503  retried  our disk or network failed the job

Outside the tree, on purpose: service/http/ranges.py's Unsatisfiable (a Range header's
control flow, answered 416 where it is caught), the supervisor's _StopRequested, and
runner/engine/imports/guard.py's ImportTooLarge (an OSError, as libraries expect of sockets).

Which OSErrors are ours: see `io_trouble`. Messages never carry a server path: an OSError's
text names its file, so `reason` and `described` say what one was without it.
"""

import errno
from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

from service.kernel.excerpt import excerpt
from service.kernel.wording import counted

# Real trouble of our own environment, on our paths: the disk failed, filled, refused a file
# that large, went read-only or stale (NFS), or the process ran out of memory or descriptors.
# A file's bytes cannot cause these, and they pass: retried. Not here: EACCES/EPERM and
# ENOENT (a file naming another file, or a protocol FFmpeg refuses on its behalf, gets these:
# the file's fault; on our own paths, a misconfiguration no retry mends) and EAGAIN (FFmpeg's
# "more input needed"; our own I/O blocks). Network trouble is ConnectionError/TimeoutError,
# counted as ours only for our own connections (runner/engine/sandbox.py).
IO_TROUBLE_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.ENOSPC,
        errno.EFBIG,
        errno.EDQUOT,
        errno.EROFS,
        errno.ESTALE,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
    }
)


def io_trouble(error: BaseException) -> bool:
    """Whether an error is real I/O trouble of our own (an OSError whose errno is one of
    IO_TROUBLE_ERRNOS), to be retried, rather than anything a file's bytes could cause.
    A MemoryError is never: the child's memory limit is final (SandboxOutOfMemory)."""
    if isinstance(error, MemoryError):
        return False
    return isinstance(error, OSError) and error.errno in IO_TROUBLE_ERRNOS


def from_the_system(error: BaseException) -> bool:
    """Whether an OSError comes from the operating system (it carries an errno) rather than
    from a decoder about the data: Pillow raises errno-less OSErrors for damaged bytes, and
    opens no file but the one we give it. Such an error is not the image's; it passes through
    for the sandbox to classify (io_trouble: retried; anything else: final, not blamed on the
    image). FFmpeg's errors all carry an errno: see io_trouble instead."""
    return isinstance(error, OSError) and error.errno is not None


def reason(error: BaseException) -> str:
    """What an exception says, for a message a client may read: for an OSError or FFmpeg's
    error, its strerror, without the file name it carries (a server path)."""
    strerror = getattr(error, "strerror", None)
    return strerror if isinstance(strerror, str) and strerror else str(error)


def described(error: BaseException) -> str:
    """Which exception, and its reason: "OSError: No space left on device"."""
    return f"{type(error).__name__}: {reason(error)}"


def shown(value: object) -> str:
    """A refused value as an error body shows it, never empty: its excerpt (text as given,
    anything else as JSON, cut at EXCERPT_CHARS), or that none was given."""
    if value is None:
        return "(not given)"
    return excerpt(value) or "(empty)"


class EditroomError(Exception):
    """Something editroom refuses or cannot do, with a message a person can act on."""

    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    retry_after_seconds: int | None = None  # set: the HTTP answer says when to try again
    closes_connection: ClassVar[bool] = False  # the request's body was left unread

    def details(self) -> dict[str, Any]:
        """Fields for the error body beside the message (which parameter, what is accepted)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The error as an answer says it: its message, its class, its details."""
        return {"detail": str(self), "error": type(self).__name__, **self.details()}


class ConfigurationError(EditroomError):
    """A setting is missing or wrong. Another process (runner) may have it right."""

    retryable = True


class Forbidden(EditroomError):
    """The request is not allowed as made (a forged or expired signed URL)."""

    status = 403


class BadSignature(Forbidden):
    """A signed URL that is forged, altered or expired."""


class NotFound(EditroomError):
    """The thing named does not exist."""

    status = 404


class Conflict(EditroomError):
    """The thing exists but is in a state that forbids the request; the state may change."""

    status = 409
    retryable = True


class SessionMoved(Conflict):
    """A session's step was planned (checked, its operations parsed) from the session as it
    was read, and before it was made another step was added, or the one it would follow
    failed: it must be planned again from the session as it is now."""

    def __init__(self, session_id: UUID) -> None:
        self.session_id = session_id
        super().__init__(
            f"session {session_id} kept changing while this step was planned (other steps "
            "were added at the same time); send it again"
        )


class HeldBySession(Conflict):
    """A media that is the output of a step of a session (not the session's original): undo
    and redo may make it the head again, so it goes only once that session is deleted. The
    database boundary raises it with PostgreSQL's words alone (delete_media's own SQLSTATE,
    23R01); the library then names the session, the step and the
    session's original, as fields a client can follow (to the original's editor, say)."""

    def __init__(
        self,
        message: str,
        *,
        session_id: UUID | None = None,
        session_step: int | None = None,
        session_media_id: UUID | None = None,
    ) -> None:
        # The fields, only when the library named all three; PostgreSQL's words alone else.
        self.holder: dict[str, Any] | None = None
        if None not in (session_id, session_step, session_media_id):
            self.holder = {
                "session_id": str(session_id),
                "session_step": session_step,
                "session_media_id": str(session_media_id),
            }
        super().__init__(message)

    def details(self) -> dict[str, Any]:
        return self.holder or {}


class UploadStalled(EditroomError):
    """No byte of an upload's body arrived for EDITROOM_UPLOAD_IDLE_SECONDS. The rest of the
    body is never read, so the answer closes the connection."""

    status = 408
    closes_connection = True


class TooLarge(EditroomError):
    """A request body over the size limit."""

    status = 413


class TooManyQueued(EditroomError):
    """More edits wait to run than EDITROOM_MAX_QUEUED allows: come back once runners have
    caught up. Back-pressure, so a flood cannot grow the queue without bound."""

    status = 429
    retryable = True
    retry_after_seconds = 5


class TooManyPending(EditroomError):
    """EDITROOM_MAX_PENDING_UPLOADS presigned uploads are open (neither completed nor expired):
    presigns are anonymous, so their rows are bounded like the queue."""

    status = 429
    retryable = True

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class _SaysWhatIsAccepted(Exception):
    """An error whose message is what was wrong, then what would be accepted; each also kept
    apart (`problem`, `accepted`), as InvalidParameter keeps them, for a message that quotes
    only what was wrong (jobs.py: a result read back, without the uploads' list of formats).
    Across the sandbox an error travels as its class and text (sandbox.py): there, `problem`
    is its whole text."""

    accepted: str | None = None
    _problem: str | None = None

    def __init__(self, problem: str, *, accepted: str | None = None) -> None:
        self._problem, self.accepted = problem, accepted
        super().__init__(problem if accepted is None else f"{problem}; accepted: {accepted}")

    @property
    def problem(self) -> str:
        return str(self) if self._problem is None else self._problem


class UnsupportedMedia(_SaysWhatIsAccepted, EditroomError):
    """The bytes are not an image or a video editroom can read."""

    status = 415


class InvalidInput(EditroomError):
    """A value was refused; the message names it and says what is accepted."""

    status = 422


class InvalidParameter(InvalidInput):
    """One named parameter's value was refused. The one place a refusal's name and value are
    made fit to echo: each shown as its first EXCERPT_CHARS characters (then …), a value never
    empty (`shown`)."""

    def __init__(self, parameter: str, value: object, problem: str, *, accepted: str) -> None:
        self.parameter = excerpt(parameter)
        self.value = shown(value)
        self.problem = problem
        self.accepted = accepted
        super().__init__(f"{self.parameter}={self.value!r}: {problem}; accepted: {accepted}")

    def details(self) -> dict[str, str]:
        """The parts the message is made of, each a field: a client (the UI) says the problem
        in its own sentence from them, never by cutting the message apart."""
        return {
            "parameter": self.parameter, "value": self.value, "problem": self.problem,
            "accepted": self.accepted,
        }  # fmt: skip

    def of_part(self, part: str, whole: str) -> "InvalidParameter":
        """This refusal of one part of a composite value (crop's width, trim's start), said of
        the whole value as given (`crop='1,2,x,4'`), naming the part and what it was."""
        problem = self.problem
        joined = (
            f" is {problem}" if problem.startswith(("not ", "out of range")) else f": {problem}"
        )
        return type(self)(
            self.parameter, whole, f"the {part} {self.value!r}{joined}",
            accepted=f"{part}: {self.accepted}",
        )  # fmt: skip


class UnknownParameter(InvalidParameter):
    """A parameter or operation this media kind (or this route) does not have: a refusal
    about where the value was given, not about the value."""


class NothingFits(InvalidParameter):
    """A batch asked to leave out the media its workflow does not fit (POST
    /workflows/{id}/run with "unfit": "leave_out") left out every media it named: nothing to
    run. It keeps each media's own refusal, listed in its body as a run's answer lists them
    (`left_out`), so a client says why of each from either answer alike."""

    def __init__(self, left_out: Sequence[tuple[object, InvalidParameter]]) -> None:
        self.left_out = list(left_out)
        count = len(self.left_out)
        none_fits = (
            "the one media given does not fit the workflow" if count == 1
            else f"none of the {count:,} media given fits the workflow"
        )  # fmt: skip
        super().__init__(
            "media", ",".join(str(media) for media, _ in self.left_out),
            f"{none_fits}, so there is nothing to run; left_out says why of each",
            accepted="a batch with at least one media the workflow fits",
        )  # fmt: skip

    def details(self) -> dict[str, Any]:
        left_out = [left_out_said(media, why) for media, why in self.left_out]
        return {**super().details(), "left_out": left_out}


def left_out_said(media: object, refusal: InvalidParameter) -> dict[str, Any]:
    """A media a batch left out as its answers say it, a run's and NothingFits' alike: the
    media, and the body of the 422 a batch naming it would have had."""
    return {"media": str(media), "error": refusal.body()}


class InvalidHeader(InvalidParameter):
    """A request header's value was refused: a malformed request (400), whatever it asked."""

    status = 400


class UnsupportedContentType(InvalidHeader):
    """A request body of a type the route does not read (JSON sent as a form): 415."""

    status = 415


class InvalidMedia(_SaysWhatIsAccepted, InvalidInput):
    """An image or video, but broken or beyond a limit: truncated, corrupt, too many pixels."""


class EditFailed(EditroomError):
    """The edit cannot succeed as asked, however often it is tried: bad or unsupported media,
    parameters the media makes impossible (a crop outside the image, no face found). The
    message says what to change."""

    status = 422


class ImportRefused(EditFailed):
    """The URL, a redirect or an address it resolves to is not allowed."""


class SandboxTimeout(EditroomError):
    """The job ran past its time limit and was stopped; the same input would again."""

    status = 422


class SandboxOutOfMemory(EditroomError):
    """The job ran out of the memory its child may use. The same input under the same limit
    would again: only a higher limit helps."""

    status = 422


class SandboxInternalError(EditroomError):
    """The job raised an exception editroom did not expect. On the same input it would raise
    it again; the message says which exception, with what text, and where."""


class ObjectMissing(EditroomError):
    """No stored object under that key: nothing a retry mends."""


class Unavailable(EditroomError):
    """Our environment's trouble, not the request's: trying again may work."""

    status = 503
    retryable = True
    retry_after_seconds = 2


class DatabaseUnavailable(Unavailable):
    """PostgreSQL could not be reached or failed transiently."""


class ChecksBusy(Unavailable):
    """Every upload check slot stayed taken while an upload waited its turn."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UploadsBusy(Unavailable):
    """EDITROOM_MAX_CONCURRENT_UPLOADS uploads are being received already: refused before a
    byte is read or a file opened."""

    retry_after_seconds = 5  # an upload in flight takes seconds at least


class LookupsBusy(Unavailable):
    """Every thread that looks up import hosts' names is busy (service/domain/imports.py):
    refused rather than queued, since a slow name server holds one for seconds."""

    retry_after_seconds = 5


class StreamsBusy(Unavailable):
    """As many event streams are open as the service serves: each one re-reads the edits it
    is told of, so more of them would slow every other request."""

    retry_after_seconds = 10

    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"this service has {counted(limit, 'event stream')} open, as many as it serves "
            "(EDITROOM_MAX_EVENT_STREAMS); try again later, or close a page that streams"
        )
        self.limit = limit

    def details(self) -> dict[str, str]:
        return {"limit": str(self.limit)}


class StorageError(Unavailable):
    """The storage backend (the bucket, the disk) failed."""


class ImportUnavailable(Unavailable):
    """The source did not answer as it should (network, server trouble)."""

    status = 502


class SandboxCrashed(Unavailable):
    """The child died without an answer (a crash, or a signal)."""


class SandboxStuck(Unavailable):
    """No child was ready for the job, or the child handed it did not take it, in time: it
    was killed (a child's fault, never the media's; the job had not started)."""


class SandboxIOError(Unavailable):
    """The job failed on something outside the media: our disk (io_trouble) or our own
    connection dropped."""
