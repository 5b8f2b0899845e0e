package lifecycle

// SamplesDir is samplesDir for the external tests: the real OneRoster
// exports, or a skip that says where they were looked for.
var SamplesDir = samplesDir
