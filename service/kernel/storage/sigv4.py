"""Presigned S3 PUT URLs that sign the body's length. The minio SDK signs only `host` into a
presigned URL, so S3 would store a body of any size there; with `content-length` among the
signed headers, S3 refuses (403 SignatureDoesNotMatch) a PUT whose Content-Length is not the
size the URL was made for. AWS Signature Version 4, query-string form:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = "content-length;host"
MAX_EXPIRY_SECONDS = 7 * 24 * 3600  # S3 refuses presigned URLs valid for longer


@dataclass(frozen=True, slots=True)
class PutPresigner:
    endpoint_url: str  # what clients reach, http(s)://host[:port]
    access_key: str
    secret_key: str
    region: str

    def put_url(
        self,
        bucket: str,
        key: str,
        *,
        size_bytes: int,
        expires: timedelta,
        now: datetime | None = None,
    ) -> str:
        """A URL S3 accepts a PUT to only with `Content-Length: size_bytes`."""
        when = (now or datetime.now(UTC)).astimezone(UTC)
        seconds = max(1, min(int(expires.total_seconds()), MAX_EXPIRY_SECONDS))
        endpoint = urlsplit(self.endpoint_url)
        path = quote(f"/{bucket}/{key}", safe="/~")
        scope = f"{when:%Y%m%d}/{self.region}/s3/aws4_request"
        query = _canonical_query({
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{self.access_key}/{scope}",
            "X-Amz-Date": f"{when:%Y%m%dT%H%M%SZ}",
            "X-Amz-Expires": str(seconds),
            "X-Amz-SignedHeaders": SIGNED_HEADERS,
        })  # fmt: skip
        headers = f"content-length:{size_bytes}\nhost:{endpoint.netloc}\n"
        request = f"PUT\n{path}\n{query}\n{headers}\n{SIGNED_HEADERS}\nUNSIGNED-PAYLOAD"
        to_sign = "\n".join((ALGORITHM, f"{when:%Y%m%dT%H%M%SZ}", scope, _sha256(request)))
        signature = hmac.new(self._signing_key(when), to_sign.encode(), hashlib.sha256)
        base = f"{endpoint.scheme}://{endpoint.netloc}{path}"
        return f"{base}?{query}&X-Amz-Signature={signature.hexdigest()}"

    def _signing_key(self, when: datetime) -> bytes:
        key = f"AWS4{self.secret_key}".encode()
        for part in (f"{when:%Y%m%d}", self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return key


def _canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}"
        for name, value in sorted(params.items())
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
