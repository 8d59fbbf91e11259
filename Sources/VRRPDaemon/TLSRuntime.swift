import CVRRPSys

/// Whether https checks can run: libssl.so.3 is loaded at run time, never linked.
func cvrrpTLSAvailable() -> Bool { cvrrp_tls_available() == 1 }
