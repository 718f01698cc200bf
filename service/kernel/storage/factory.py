"""The storage the settings ask for: S3 when EDITROOM_S3_ENDPOINT is set, else a directory."""

from service.kernel.errors import ConfigurationError
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage
from service.kernel.storage.local import LocalStorage
from service.kernel.storage.s3 import S3Storage, minio_client
from service.kernel.storage.sigv4 import PutPresigner


async def open_storage(settings: Settings) -> Storage:
    if not settings.s3_endpoint:
        try:
            return LocalStorage(settings.bucket_dir)
        except OSError as exc:  # not a directory, not ours to write: no retry mends it
            variable = "EDITROOM_STORAGE_DIR" if settings.storage_dir else "EDITROOM_DATA_DIR"
            raise ConfigurationError(
                f"{variable}: cannot use {settings.bucket_dir} as the bucket directory "
                f"({exc.strerror or exc})"
            ) from exc
    credentials = {
        "access_key": settings.s3_access_key,
        "secret_key": settings.s3_secret_key,
        "region": settings.s3_region,
    }
    client = minio_client(settings.s3_endpoint, **credentials)
    presigner = PutPresigner(settings.s3_public_endpoint or settings.s3_endpoint, **credentials)
    storage = S3Storage(client, settings.s3_bucket, presigner=presigner)
    await storage.ensure_bucket()
    return storage
