import type { MetricMeter } from '@temporalio/common';
import { GUARDIAN_METRICS, type MetricDefinition, type MetricSample } from './metric-definitions';

/**
 * Records samples on a Temporal metric meter: the workflow's (replay-safe: nothing is recorded while replaying),
 * an activity's or the runtime's. Workflow-safe: no Node built-ins.
 */

/**
 * Records every sample; never throws. Metrics must never fail a workflow task (a plain Error thrown in workflow
 * code fails it forever), so a sample the meter refuses is dropped and the rest are still recorded.
 */
export function recordSamples(meter: MetricMeter, samples: readonly MetricSample[]): void {
  for (const sample of samples) {
    try {
      recordOne(meter, GUARDIAN_METRICS[sample.metric], sample);
    } catch {
      // Dropped on purpose: see above.
    }
  }
}

function recordOne(meter: MetricMeter, definition: MetricDefinition, sample: MetricSample): void {
  const labels = { ...sample.labels };
  switch (definition.kind) {
    case 'counter':
      meter.createCounter(definition.name, definition.unit, definition.description).add(sample.value, labels);
      return;
    case 'gauge':
      meter.createGauge(definition.name, definition.valueType, definition.unit, definition.description).set(sample.value, labels);
      return;
    case 'histogram':
      meter.createHistogram(definition.name, definition.valueType, definition.unit, definition.description).record(sample.value, labels);
      return;
  }
}
