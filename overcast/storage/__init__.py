from overcast.storage.blobs import BlobStore
from overcast.storage.database import Database

__all__ = ["Database", "BlobStore"]
