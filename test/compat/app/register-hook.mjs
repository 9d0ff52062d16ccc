// The instrumentation loader hook, registered before the app's imports (OTel JS ESM support).
import { register } from 'node:module';
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
