"""Blob storage behind small interfaces, so an object store can replace the file system later."""
