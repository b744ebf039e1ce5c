// Every string the page shows, in Korean (the default) and English. Elements with
// data-i18n get their textContent, data-i18n-aria their aria-label, data-i18n-title their title.

const STRINGS = {
  ko: {
    title: "Kickboard 운영 콘솔",
    language: "English",
    languageLabel: "Switch to English",
    signInTitle: "운영자 로그인",
    operatorId: "운영자 ID",
    group: "그룹",
    groupAdmin: "admin (운영자)",
    groupCustomer: "customer (고객)",
    signIn: "로그인",
    signInCognito: "Cognito로 로그인",
    signOut: "로그아웃",
    signingIn: "로그인 중…",
    signInFailed: "로그인 실패: {0}",
    notOperatorTitle: "운영자가 아닙니다",
    notOperatorText: "이 계정({0})은 admin 그룹에 속하지 않아 차량 현황을 볼 수 없습니다.",
    configFailed: "설정(config.json)을 읽지 못했습니다: {0}",
    boardsRead: "{0}대 · {1} 기준 ({2} 전)",
    notYetRead: "아직 읽지 못함",
    apiUnreachable: "API에 연결할 수 없습니다. {0}초 후 다시 시도합니다…",
    ageSeconds: "{0}초",
    ageMinutes: "{0}분",
    ageHours: "{0}시간",
    legend: "범례",
    statusAvailable: "이용 가능",
    statusLow: "배터리 부족",
    statusMaintenance: "정비 중",
    statusRented: "대여 중",
    statusRetired: "폐기됨",
    panelTitle: "킥보드 {0}",
    closePanel: "닫기",
    fieldId: "ID",
    fieldModel: "모델 / 유형",
    fieldBattery: "배터리 / 주행 가능 거리",
    fieldLastReport: "마지막 보고",
    fieldStatus: "상태",
    fieldRide: "현재 대여",
    fieldReason: "정비 사유",
    noRide: "없음",
    rideSince: "{0} ({1}부터)",
    ago: "{0} ({1} 전)",
    toMaintenance: "정비로 전환",
    backInService: "운행 재개",
    retire: "폐기",
    retireConfirm: "{0}을(를) 폐기할까요? 되돌릴 수 없습니다.",
    ring: "벨 울리기",
    lock: "잠금",
    unlock: "잠금 해제",
    actionsLabel: "킥보드 조작",
    working: "요청 중…",
    done: "완료: {0}",
    commandSent: "{0} 명령 전송됨, 응답 대기 중…",
    commandAcked: "{0}: 차량이 수행했습니다",
    commandFailed: "{0}: 차량이 수행하지 못했습니다 ({1})",
    commandTimedOut: "{0}: 차량이 제때 응답하지 않았습니다 (timed out)",
    timedOut: "시간 초과 (timed out)",
    networkError: "API에 연결할 수 없습니다",
    retired: "폐기되었습니다",
    zonesTitle: "구역",
    drawZone: "구역 그리기",
    finishDrawing: "그리기 완료",
    cancelDrawing: "취소",
    drawingHint: "지도를 클릭해 꼭짓점을 추가하세요 ({0}개). 3개 이상이면 완료할 수 있습니다.",
    zoneFormTitle: "구역 저장",
    zoneId: "구역 ID",
    zoneName: "이름",
    priority: "우선순위",
    rideStartAllowed: "대여 시작 허용",
    rideEndAllowed: "반납 허용",
    rideThroughAllowed: "통과 허용",
    maximumSpeed: "최고 속도 (km/h, 비우면 제한 없음)",
    saveZone: "저장",
    deleteZone: "삭제",
    deleteZoneConfirm: "구역 {0}을(를) 삭제할까요?",
    zoneSaved: "구역 {0} 저장됨",
    zoneDeleted: "구역 {0} 삭제됨",
    noZones: "구역 없음",
    zoneRules: "시작 {0} · 반납 {1} · 통과 {2} · 최고 {3}",
    yes: "가능",
    no: "불가",
    noLimit: "제한 없음",
    kph: "{0} km/h",
    priorityShort: "우선순위 {0}",
    alertsTitle: "정비팀 알림",
    noAlerts: "최근 24시간 알림 없음",
    ridesTitle: "진행 중인 대여",
    noRides: "진행 중인 대여 없음",
    summaryTitle: "오늘 요약",
    summaryRides: "종료된 대여",
    summaryMinutes: "과금 시간(분)",
    summaryRevenue: "매출",
    summaryBreaker: "결제 차단기",
    won: "{0}원",
    breakerCLOSED: "정상 (CLOSED)",
    breakerOPEN: "차단 (OPEN)",
    breakerHALF_OPEN: "시험 중 (HALF_OPEN)",
    liveUnavailable: "읽을 수 없음: {0}",
    "alert_moved-while-parked": "주차 중 이동",
    "alert_lock-unconfirmed": "잠금 미확인",
    "alert_silent-while-rented": "대여 중 무응답",
    "alert_not-responding": "응답 없음",
    "alert_battery-low": "배터리 부족",
    mapLabel: "차량 지도",
  },
  en: {
    title: "Kickboard operator console",
    language: "한국어",
    languageLabel: "한국어로 전환",
    signInTitle: "Operator sign-in",
    operatorId: "Operator id",
    group: "Group",
    groupAdmin: "admin (operator)",
    groupCustomer: "customer",
    signIn: "Sign in",
    signInCognito: "Sign in with Cognito",
    signOut: "Sign out",
    signingIn: "Signing in…",
    signInFailed: "Sign-in failed: {0}",
    notOperatorTitle: "Not an operator",
    notOperatorText: "This account ({0}) is not in the admin group, so it cannot see the fleet.",
    configFailed: "Could not read config.json: {0}",
    boardsRead: "{0} boards · read {1} ({2} ago)",
    notYetRead: "not read yet",
    apiUnreachable: "API unreachable, retrying in {0} s…",
    ageSeconds: "{0} s",
    ageMinutes: "{0} min",
    ageHours: "{0} h",
    legend: "Legend",
    statusAvailable: "available",
    statusLow: "low battery",
    statusMaintenance: "maintenance",
    statusRented: "rented",
    statusRetired: "retired",
    panelTitle: "Kickboard {0}",
    closePanel: "Close",
    fieldId: "Id",
    fieldModel: "Model / type",
    fieldBattery: "Battery / range",
    fieldLastReport: "Last report",
    fieldStatus: "Status",
    fieldRide: "Current ride",
    fieldReason: "Maintenance reason",
    noRide: "none",
    rideSince: "{0} (since {1})",
    ago: "{0} ({1} ago)",
    toMaintenance: "Put in maintenance",
    backInService: "Back in service",
    retire: "Retire",
    retireConfirm: "Retire {0}? This cannot be undone.",
    ring: "Ring",
    lock: "Lock",
    unlock: "Unlock",
    actionsLabel: "Board actions",
    working: "Working…",
    done: "Done: {0}",
    commandSent: "{0} sent, waiting for the board…",
    commandAcked: "{0}: the board did it",
    commandFailed: "{0}: the board could not ({1})",
    commandTimedOut: "{0}: the board did not answer in time (timed out)",
    timedOut: "timed out",
    networkError: "API unreachable",
    retired: "Retired",
    zonesTitle: "Zones",
    drawZone: "Draw zone",
    finishDrawing: "Finish",
    cancelDrawing: "Cancel",
    drawingHint: "Click the map to add vertices ({0} so far); finish with 3 or more.",
    zoneFormTitle: "Save zone",
    zoneId: "Zone id",
    zoneName: "Name",
    priority: "Priority",
    rideStartAllowed: "Ride start allowed",
    rideEndAllowed: "Ride end allowed",
    rideThroughAllowed: "Ride through allowed",
    maximumSpeed: "Maximum speed (km/h, empty for none)",
    saveZone: "Save",
    deleteZone: "Delete",
    deleteZoneConfirm: "Delete zone {0}?",
    zoneSaved: "Zone {0} saved",
    zoneDeleted: "Zone {0} deleted",
    noZones: "No zones",
    zoneRules: "start {0} · end {1} · through {2} · max {3}",
    yes: "yes",
    no: "no",
    noLimit: "no limit",
    kph: "{0} km/h",
    priorityShort: "priority {0}",
    alertsTitle: "Crew alerts",
    noAlerts: "No alerts in the last 24 h",
    ridesTitle: "Rides in progress",
    noRides: "No rides in progress",
    summaryTitle: "Today",
    summaryRides: "Rides ended",
    summaryMinutes: "Minutes billed",
    summaryRevenue: "Revenue",
    summaryBreaker: "Payment breaker",
    won: "₩{0}",
    breakerCLOSED: "closed (healthy)",
    breakerOPEN: "OPEN (payments refused)",
    breakerHALF_OPEN: "half-open (probing)",
    liveUnavailable: "unavailable: {0}",
    "alert_battery-low": "battery low",
    "alert_moved-while-parked": "moved while parked",
    "alert_lock-unconfirmed": "lock unconfirmed",
    "alert_silent-while-rented": "silent while rented",
    "alert_not-responding": "not responding",
    mapLabel: "Fleet map",
  },
};

const STORAGE_KEY = "kickboard.console.lang";
let lang = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "ko";
const listeners = [];

/** The string `key` in the current language, `{0}`, `{1}`… replaced by `args`. */
export function t(key, ...args) {
  const text = STRINGS[lang][key] ?? STRINGS.ko[key] ?? key;
  return text.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

export function currentLang() {
  return lang;
}

/** The locale numbers and times are written in. */
export function locale() {
  return lang === "ko" ? "ko-KR" : "en-GB";
}

/** Switches language, rewrites the static strings and tells the views to redraw. */
export function setLang(next) {
  lang = next === "en" ? "en" : "ko";
  localStorage.setItem(STORAGE_KEY, lang);
  applyStatic();
  for (const listener of listeners) listener();
}

export function onLangChange(listener) {
  listeners.push(listener);
}

export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

/** "12 s", "3 min", "2 h": how long ago `ms` milliseconds is. */
export function age(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return t("ageSeconds", seconds);
  if (seconds < 7200) return t("ageMinutes", Math.floor(seconds / 60));
  return t("ageHours", Math.floor(seconds / 3600));
}

/** HH:MM:SS on this browser's clock, whatever the language. */
export function clock(date) {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}
