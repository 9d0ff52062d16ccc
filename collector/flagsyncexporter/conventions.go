// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

// Event and attribute names, as src/conventions.ts of the TypeScript package has them.
const (
	eventFeatureFlagEvaluation = "feature_flag.evaluation"
	eventLegacyFeatureFlag     = "feature_flag"
	eventFlagSyncTrack         = "flagsync.track"

	attrFeatureFlagKey          = "feature_flag.key"
	attrFeatureFlagProviderName = "feature_flag.provider.name"
	attrFeatureFlagContextID    = "feature_flag.context.id"
	attrFeatureFlagResultValue  = "feature_flag.result.value"
	attrFeatureFlagResultVar    = "feature_flag.result.variant"
	attrFeatureFlagResultReason = "feature_flag.result.reason"
	attrErrorType               = "error.type"
	attrLegacyProviderName      = "feature_flag.provider_name"
	attrLegacyVariant           = "feature_flag.variant"

	attrFlagSyncSize     = "flagsync.size"
	attrFlagSyncValue    = "flagsync.value"
	attrFlagSyncContext  = "flagsync.context"
	attrFlagSyncDelivery = "flagsync.delivery"
	// attrFlagSyncImpression is written by versions before flagsync.delivery: false when the SDK
	// delivered the impression. Still read, as flagsync.delivery sdk.
	attrFlagSyncImpression      = "flagsync.impression"
	attrFlagSyncEventKey        = "flagsync.event.key"
	attrFlagSyncEventValue      = "flagsync.event.value"
	attrFlagSyncEventProperties = "flagsync.event.properties"
	attrFlagSyncCallID          = "flagsync.call_id"

	// Who delivers a call to FlagSync (flagsync.delivery). This component is the collector.
	deliverySDK       = "sdk"
	deliveryExporter  = "exporter"
	deliveryCollector = "collector"

	// providerName is the provider name this package's instrumentation writes.
	providerName = "FlagSync"
)

// sizedAttributeNames are the attributes the size marker counts: every attribute the
// instrumentation writes on its events, except the marker itself (SIZED_ATTRIBUTE_NAMES in
// src/conventions.ts, in the same order).
var sizedAttributeNames = []string{
	attrFeatureFlagKey,
	attrFeatureFlagProviderName,
	attrFeatureFlagContextID,
	attrFeatureFlagResultValue,
	attrFeatureFlagResultReason,
	attrErrorType,
	attrFlagSyncValue,
	attrFlagSyncContext,
	attrFlagSyncDelivery,
	attrFlagSyncImpression,
	attrFlagSyncEventKey,
	attrFlagSyncEventValue,
	attrFlagSyncEventProperties,
	attrFlagSyncCallID,
}

var sizedAttributes = func() map[string]bool {
	m := make(map[string]bool, len(sizedAttributeNames))
	for _, name := range sizedAttributeNames {
		m[name] = true
	}
	return m
}()
