/**
 * Switches of third-party libraries that read the process environment themselves, set before any
 * other module loads (`npm start` imports this first). Sluice's own settings are never put here:
 * the host parses its own environment object and hands the settings to its platform.
 */
// The SDK's notice about Node 20 support going away is for us, not for the host's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Powertools: compact log lines, no metrics output, no X-Ray outside Lambda.
process.env.POWERTOOLS_SERVICE_NAME = 'sluice';
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
process.env.POWERTOOLS_LOG_LEVEL = (process.env.SLUICE_LOG_LEVEL || 'WARN').toUpperCase();
