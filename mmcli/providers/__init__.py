"""Provider implementations. Import nothing here: SDKs load only when used."""
