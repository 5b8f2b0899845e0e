package radius

// MaxDevicesNoted is maxDevicesNoted for the external tests.
const MaxDevicesNoted = maxDevicesNoted
