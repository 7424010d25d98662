"""The legacy routes' bodies (seed 001's interfaces) and the status words they publish."""

from __future__ import annotations

from rest_framework import serializers

from backfill.models import CollectionStrategy, JobStatus

LEGACY_STATUS = {
    JobStatus.PENDING: "processing",
    JobStatus.RUNNING: "processing",
    JobStatus.PAUSED: "processing",
    JobStatus.RECOVERING: "processing",
    JobStatus.CANCELLING: "processing",
    JobStatus.COMPLETED: "complete",
    JobStatus.PARTIAL_SUCCESS: "partial_success",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "cancelled",
}
LEGACY_STATUS_WORDS = ["processing", "complete", "error", "cancelled", "partial_success"]
LEGACY_DISTRICT_STATUS_WORDS = ["pending", "processing", "completed", "failed", "skipped"]
REFRESH_METHOD = {
    CollectionStrategy.SYSTEM_WIDE: "getAllDistricts",
    CollectionStrategy.PER_DISTRICT: "getDistrictPerformance",
    CollectionStrategy.TARGETED: "getMultipleDistricts",
}


class LegacyScopeSerializer(serializers.Serializer):
    targetDistricts = serializers.ListField(child=serializers.CharField())
    configuredDistricts = serializers.ListField(child=serializers.CharField())
    scopeType = serializers.ChoiceField(choices=["system-wide", "targeted", "single-district"])
    validationPassed = serializers.BooleanField()


class LegacyDistrictProgressSerializer(serializers.Serializer):
    districtId = serializers.CharField()
    status = serializers.ChoiceField(choices=LEGACY_DISTRICT_STATUS_WORDS)
    datesProcessed = serializers.IntegerField()
    datesTotal = serializers.IntegerField()
    lastError = serializers.CharField(required=False)
    successfulDates = serializers.ListField(child=serializers.CharField())
    failedDates = serializers.ListField(child=serializers.CharField())
    retryCount = serializers.IntegerField()


class LegacyProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unavailable = serializers.IntegerField()
    failed = serializers.IntegerField()
    current = serializers.CharField(allow_blank=True)
    districtProgress = serializers.DictField(child=LegacyDistrictProgressSerializer())
    partialSnapshots = serializers.IntegerField()
    totalErrors = serializers.IntegerField()
    retryableErrors = serializers.IntegerField()
    permanentErrors = serializers.IntegerField()


class RefreshMethodSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(REFRESH_METHOD.values()))
    params = serializers.DictField()


class LegacyStrategySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=CollectionStrategy.values)
    refreshMethod = RefreshMethodSerializer()
    rationale = serializers.CharField()
    estimatedEfficiency = serializers.FloatField()
    targetDistricts = serializers.ListField(child=serializers.CharField(), required=False)


class LegacyErrorSummarySerializer(serializers.Serializer):
    totalErrors = serializers.IntegerField()
    retryableErrors = serializers.IntegerField()
    permanentErrors = serializers.IntegerField()
    affectedDistricts = serializers.ListField(child=serializers.CharField())
    partialSnapshots = serializers.IntegerField()


class LegacyPartialSnapshotSerializer(serializers.Serializer):
    snapshotId = serializers.CharField()
    successfulDistricts = serializers.ListField(child=serializers.CharField())
    failedDistricts = serializers.ListField(child=serializers.CharField())
    totalDistricts = serializers.IntegerField()
    successRate = serializers.FloatField()


class LegacyRateLimiterSerializer(serializers.Serializer):
    currentCount = serializers.IntegerField()
    maxRequests = serializers.IntegerField()
    windowMs = serializers.IntegerField()
    nextResetAt = serializers.CharField()


class LegacyConcurrencySerializer(serializers.Serializer):
    activeSlots = serializers.IntegerField()
    maxConcurrent = serializers.IntegerField()
    queueLength = serializers.IntegerField()


class LegacyCacheSerializer(serializers.Serializer):
    hitRate = serializers.FloatField()
    entryCount = serializers.IntegerField()
    sizeBytes = serializers.IntegerField()


class LegacyPerformanceSerializer(serializers.Serializer):
    rateLimiter = LegacyRateLimiterSerializer()
    concurrencyLimiter = LegacyConcurrencySerializer()
    intermediateCache = LegacyCacheSerializer()


class BackfillResponseSerializer(serializers.Serializer):
    backfillId = serializers.CharField()
    status = serializers.ChoiceField(choices=LEGACY_STATUS_WORDS)
    scope = LegacyScopeSerializer()
    progress = LegacyProgressSerializer()
    collectionStrategy = LegacyStrategySerializer()
    error = serializers.CharField(required=False)
    snapshotIds = serializers.ListField(child=serializers.CharField())
    errorSummary = LegacyErrorSummarySerializer()
    partialSnapshots = LegacyPartialSnapshotSerializer(many=True)
    performanceStatus = LegacyPerformanceSerializer()
    districtId = serializers.CharField(required=False)


class CancelResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    backfillId = serializers.CharField()
    districtId = serializers.CharField(required=False)
