/*
 * A stand-in bcryptprimitives.dll for a Wine that has none (Debian 12's Wine 8), used only by
 * `make test-windows`.
 *
 * Go's Windows runtime loads ProcessPrng from bcryptprimitives.dll when the process starts and
 * stops with "bcryptprimitives.dll not found" without it. Every Windows the Go toolchain
 * supports (10 and later) has that DLL; Wine 8.0, which Debian 12 ships, does not (newer Wine
 * releases do). This file gives the old Wine the one function Go needs, on top of RtlGenRandom
 * (advapi32's SystemFunction036), which Wine 8 has. It is copied into the test's own Wine
 * prefix, never shipped: the .exe files in dist/ are unchanged by it.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
