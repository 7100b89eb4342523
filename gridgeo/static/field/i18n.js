// Words of the field app: Chinese first (the workers' language), English on request.
const WORDS = {
  zh: {
    title: '网格员', signin: '登录', key: 'API 密钥或令牌', save: '保存并进入',
    insecure: '需要 HTTPS：相机、定位和离线功能只能在安全连接（HTTPS 或本机）下使用。',
    signinHelp: '输入一次即可，保存在本机。也可用本镇统一认证登录（见 docs/field-app.md）。',
    today: '今日', map: '地图', scan: '扫码', report: '上报', mine: '我的上报',
    grids: '我的网格', due: '待办', greenhouses: '本月未巡查大棚', adits: '到期矿洞',
    cases: '我的案件', routes: '今日路线', none: '无', stops: '站',
    online: '在线', offline: '离线', queued: '待发送', signout: '退出',
    startCamera: '打开相机', scanning: '正在识别二维码…', scanned: '已识别',
    choose: '选择结果', send: '提交', sentOk: '已记录', queuedOk: '已排队，联网后自动发送',
    within: '在允许范围内', outside: '超出允许范围', distance: '距离', radius: '允许',
    flagged: '已标记', noGps: '没有定位：请打开定位',
    category: '类别', description: '描述', position: '位置（可拖动地图上的点）',
    photo: '拍照', photoPick: '相册或系统相机', photos: '照片', submit: '上报', reportTitle: '现场上报',
    state: '状态', waiting: '等待发送', refused: '被拒绝', sent: '已送达',
    retry: '重试', drop: '删除', noReports: '还没有上报',
    r_ok: '正常', r_problem: '有问题', r_in_use: '在用', r_idle: '闲置', r_abandoned: '废弃',
    r_suspected_conversion: '疑似改建', r_converted_to_housing: '已改为住房',
    r_sealed: '封闭完好', r_suspected_reopened: '疑似复开', r_reopened: '已复开',
    addresses: '门牌', mine_tunnels: '矿洞', lang: 'English', worker: '网格员',
    s_reported: '已上报', s_accepted: '已受理', s_invalid: '无效', s_duplicate: '重复',
    s_dispatched: '已派遣', s_in_progress: '处置中', s_resolved: '已处置', s_verified: '已核查',
    s_closed: '已结案', s_returned: '已退回', s_reopened: '重新办理',
  },
  en: {
    title: 'Grid worker', signin: 'Sign in', key: 'API key or token', save: 'Save and start',
    insecure: 'Needs HTTPS: the camera, location and offline use work only over a secure connection (HTTPS or this device).',
    signinHelp: 'Entered once and kept on this phone. Single sign-on with the town\'s server is described in docs/field-app.md.',
    today: 'Today', map: 'Map', scan: 'Scan', report: 'Report', mine: 'My reports',
    grids: 'My grids', due: 'Due', greenhouses: 'Greenhouses not scanned this month',
    adits: 'Adits due', cases: 'My cases', routes: "Today's routes", none: 'none',
    stops: 'stops', online: 'online', offline: 'offline', queued: 'to send',
    signout: 'Sign out', startCamera: 'Start camera', scanning: 'Looking for a QR code…',
    scanned: 'Scanned', choose: 'Choose the result', send: 'Send', sentOk: 'Recorded',
    queuedOk: 'Queued: sent when the connection returns', within: 'within the allowed distance',
    outside: 'outside the allowed distance', distance: 'distance', radius: 'allowed',
    flagged: 'flagged', noGps: 'No position: turn location on',
    category: 'Category', description: 'Description',
    position: 'Position (drag the marker on the map)', photo: 'Take photo', photoPick: 'From gallery or camera app',
    photos: 'photos',
    submit: 'Report', reportTitle: 'Report an incident', state: 'State',
    waiting: 'waiting to send', refused: 'refused', sent: 'delivered', retry: 'Retry',
    drop: 'Delete', noReports: 'No reports yet',
    r_ok: 'OK', r_problem: 'Problem', r_in_use: 'In use', r_idle: 'Idle',
    r_abandoned: 'Abandoned', r_suspected_conversion: 'Suspected conversion',
    r_converted_to_housing: 'Converted to housing', r_sealed: 'Sealed',
    r_suspected_reopened: 'Suspected reopened', r_reopened: 'Reopened',
    addresses: 'Door plate', mine_tunnels: 'Adit', lang: '中文', worker: 'grid worker',
    s_reported: 'reported', s_accepted: 'accepted', s_invalid: 'invalid',
    s_duplicate: 'duplicate', s_dispatched: 'dispatched', s_in_progress: 'in progress',
    s_resolved: 'resolved', s_verified: 'verified', s_closed: 'closed', s_returned: 'returned',
    s_reopened: 'reopened',
  },
};

export let lang = localStorage.getItem('gridgeo.lang') || 'zh';

export function t(key) {
  return WORDS[lang][key] ?? WORDS.zh[key] ?? key;
}

export function toggleLanguage() {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('gridgeo.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}
