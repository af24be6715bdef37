"""Content-addressed blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, ...).

The same contract as the local store: bytes are hashed while they are spooled to a local temp
file (constant memory), then uploaded under ``<prefix>/sha256/ab/cd/<hex>``; an upload is atomic
on S3, so a row can only ever name a complete object. Re-putting existing content does not
upload it again, but refreshes the object's modification time (a copy onto itself), which is
what gc's grace period looks at.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from docledger.config import Settings
from docledger.errors import BlobStoreError, MissingDependency, NotFound
from docledger.storage.base import (
    CHUNK,
    SHA256_RE,
    StoredBlob,
    blob_key,
    check_sha256,
    verified,
)

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependency("S3 blob storage needs boto3: pip install 'docledger[s3]'") from exc

_MISSING = {"404", "NoSuchKey", "NotFound"}


class _BodyReader(io.RawIOBase):
    """A botocore StreamingBody as a file object."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class ObjectBlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any | None = None,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        spool_dir: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.spool_dir = spool_dir
        self._transfer = TransferConfig(multipart_chunksize=16 * 1024 * 1024)

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectBlobStore:
        bucket, _, prefix = settings.resolved_blob_root[len("s3://") :].partition("/")
        return cls(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        )

    def _key(self, sha256: str) -> str:
        key = blob_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self._key(sha256)}"

    def _error(self, action: str, exc: Exception) -> BlobStoreError:
        return BlobStoreError(f"S3 {action} failed for bucket {self.bucket!r}: {exc}")

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._key(sha256)))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise self._error("head", exc) from exc
        except BotoCoreError as exc:
            raise self._error("head", exc) from exc

    def _touch(self, sha256: str) -> None:
        key = self._key(sha256)
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                Metadata={"touched": datetime.now(UTC).isoformat()},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error("touch", exc) from exc

    def put_bytes(self, data: bytes) -> StoredBlob:
        sha256 = hashlib.sha256(data).hexdigest()
        head = self._head(sha256)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        etag = str((head or {}).get("ETag", "")).strip('"')
        # stored and intact (a single-part upload's ETag is its MD5): else (re)upload, which
        # heals an object whose bytes were replaced
        if head is not None and head.get("ContentLength") == len(data) and etag in {md5, ""}:
            self._touch(sha256)
            return StoredBlob(sha256, len(data), self.uri(sha256), created=False)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(sha256),
                Body=data,
                ChecksumAlgorithm="SHA256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error("upload", exc) from exc
        return StoredBlob(sha256, len(data), self.uri(sha256), created=True)

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in finally
                prefix=".put-", dir=self.spool_dir, delete=False
            )
        except OSError as exc:
            raise BlobStoreError(f"cannot create a spool file for S3 upload: {exc}") from exc
        try:
            with spool:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    md5.update(chunk)
                    spool.write(chunk)
                    size += len(chunk)
            sha256 = digest.hexdigest()
            head = self._head(sha256)
            etag = str((head or {}).get("ETag", "")).strip('"')
            # a multipart ETag ("...-N") is no MD5: then the size is what can be compared
            if (
                head is not None
                and head.get("ContentLength") == size
                and (etag == md5.hexdigest() or "-" in etag or not etag)
            ):
                self._touch(sha256)
                return StoredBlob(sha256, size, self.uri(sha256), created=False)
            try:
                self.client.upload_file(
                    spool.name, self.bucket, self._key(sha256), Config=self._transfer
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._error("upload", exc) from exc
            return StoredBlob(sha256, size, self.uri(sha256), created=True)
        finally:
            os.unlink(spool.name)

    def open(self, sha256: str) -> BinaryIO:
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._key(check_sha256(sha256))
            )
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                raise NotFound(f"blob {sha256} is missing from s3://{self.bucket}") from exc
            raise self._error("download", exc) from exc
        except BotoCoreError as exc:
            raise self._error("download", exc) from exc
        return verified(io.BufferedReader(_BodyReader(response["Body"]), buffer_size=CHUNK), sha256)

    def exists(self, sha256: str) -> bool:
        return self._head(check_sha256(sha256)) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(check_sha256(sha256))
        return None if head is None else int(head.get("ContentLength", 0))

    def delete(self, sha256: str, *, older_than_s: float = 0.0) -> bool:
        head = self._head(check_sha256(sha256))
        if head is None:
            return False
        modified = head.get("LastModified")
        if isinstance(modified, datetime) and datetime.now(UTC) - modified < timedelta(
            seconds=older_than_s
        ):
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))
        except (ClientError, BotoCoreError) as exc:
            raise self._error("delete", exc) from exc
        return True

    def iter_shas(self) -> Iterator[str]:
        base = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for item in page.get("Contents", []):
                    name = str(item["Key"]).rsplit("/", 1)[-1]
                    if SHA256_RE.match(name):
                        yield name
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list", exc) from exc

    def clean_temp(self, *, older_than_s: float) -> int:
        """Abort multipart uploads that a crash left open (the only S3 leftover)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        removed = 0
        try:
            response = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
            for upload in response.get("Uploads", []):
                if upload["Initiated"] <= cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        except (ClientError, BotoCoreError) as exc:
            raise self._error("cleanup", exc) from exc
        return removed
