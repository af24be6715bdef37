"""Where a backup lives: a folder, or an ``s3://bucket/prefix`` of an S3-compatible store.

Either holds the same three things under the same names: the database snapshot, ``blobs/``
(content-addressed, so a second backup uploads only new blobs) and ``manifest.json``, written
last. The database file is made in a local temporary folder first (the online backup API and
``pg_dump`` write files) and then moved or uploaded; a restore from S3 downloads it the same
way and reads the blobs straight from the bucket.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from docledger.config import load_settings
from docledger.errors import BlobStoreError, InvalidInput
from docledger.storage.base import BlobStore
from docledger.storage.local import LocalBlobStore


class BackupTarget(Protocol):
    name: str

    def staging(self) -> AbstractContextManager[Path]:
        """A local folder where the database file is written or read."""
        ...

    def read_text(self, file: str) -> str | None: ...

    def put_file(self, file: str, local: Path) -> None: ...

    def get_file(self, file: str, local: Path) -> None: ...

    def blobs(self) -> BlobStore: ...

    def blob_folder(self) -> Path | None: ...


class FolderTarget:
    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder")
        self.folder = folder
        self.name = str(folder)

    @contextmanager
    def staging(self) -> Iterator[Path]:
        self.folder.mkdir(parents=True, exist_ok=True)
        yield self.folder  # files are made in place

    def read_text(self, file: str) -> str | None:
        path = self.folder / file
        return path.read_text() if path.is_file() else None

    def put_file(self, file: str, local: Path) -> None:
        if local != self.folder / file:
            os.replace(local, self.folder / file)

    def get_file(self, file: str, local: Path) -> None:
        path = self.folder / file
        if not path.is_file():
            raise InvalidInput(f"the backup has no {file}")
        if local != path:
            shutil.copyfile(path, local)

    def blobs(self) -> BlobStore:
        # made durable all at once (``sync``) before the manifest names them
        return LocalBlobStore(self.folder / "blobs", sync_each=False)

    def blob_folder(self) -> Path | None:
        return self.folder / "blobs"


class ObjectTarget:
    """``s3://bucket/prefix``; the endpoint and credentials are the blob store's settings
    (``DOCLEDGER_S3_ENDPOINT_URL``, the usual AWS variables)."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        from docledger.storage.s3 import ObjectBlobStore  # noqa: PLC0415 - optional extra

        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise InvalidInput(f"{url}: an s3:// backup needs a bucket (s3://bucket/prefix)")
        self.name = url
        self.prefix = prefix.strip("/")
        settings = load_settings()
        self._blobs = ObjectBlobStore(
            bucket,
            f"{self.prefix}/blobs" if self.prefix else "blobs",
            client=client,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        )
        self.client = self._blobs.client
        self.bucket = bucket

    @contextmanager
    def staging(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="docledger-backup-") as temp:
            yield Path(temp)

    def _key(self, file: str) -> str:
        return f"{self.prefix}/{file}" if self.prefix else file

    def read_text(self, file: str) -> str | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(file))["Body"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise BlobStoreError(f"S3 read of {self.name}/{file} failed: {exc}") from exc
        return str(body.read().decode("utf-8"))

    def put_file(self, file: str, local: Path) -> None:
        try:
            self.client.upload_file(str(local), self.bucket, self._key(file))
        except Exception as exc:  # boto3's transfer errors have no common base
            raise BlobStoreError(f"S3 upload of {self.name}/{file} failed: {exc}") from exc
        finally:
            local.unlink(missing_ok=True)

    def get_file(self, file: str, local: Path) -> None:
        if self.read_head(file) is None:
            raise InvalidInput(f"the backup has no {file}")
        try:
            self.client.download_file(self.bucket, self._key(file), str(local))
        except Exception as exc:
            raise BlobStoreError(f"S3 download of {self.name}/{file} failed: {exc}") from exc

    def read_head(self, file: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._key(file)))
        except ClientError:
            return None

    def blobs(self) -> BlobStore:
        return self._blobs

    def blob_folder(self) -> Path | None:
        return None


def target(dest: str | os.PathLike[str], store: BlobStore | None = None) -> BackupTarget:
    """The folder or bucket ``dest`` names (an S3 blob store's client is reused)."""
    text = os.fspath(dest)
    if text.startswith("s3://"):
        client = getattr(store, "client", None)
        return ObjectTarget(text, client)
    return FolderTarget(Path(text))
