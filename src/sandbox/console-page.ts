/** The local Slack console: one page, no build step; it polls the console server and renders Block Kit. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slotwatch — local Slack console</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;display:grid;grid-template-columns:1fr 260px;height:100vh}
main{overflow:auto;padding:12px 16px;background:#fff}
aside{background:#3f0e40;color:#fff;padding:12px;overflow:auto}
aside button{display:block;width:100%;margin:4px 0;padding:6px;border:0;border-radius:4px;background:#611f69;color:#fff;cursor:pointer}
aside button[aria-pressed="true"]{background:#1264a3;font-weight:700}
.msg{border-bottom:1px solid #eee;padding:8px 0}.who{font-weight:700}.eph{background:#f8f8f0;border-left:3px solid #aaa;padding-left:8px}
.thread{margin-left:32px;border-left:2px solid #ddd;padding-left:8px;color:#333}
.header{font-size:18px;font-weight:700;margin:4px 0}.section{margin:4px 0;white-space:pre-wrap}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px}
.context{color:#666;font-size:12px}pre{background:#f4f4f4;padding:6px;overflow:auto;margin:2px 0}
.actions button{margin:4px 6px 4px 0;padding:4px 10px;border:1px solid #bbb;border-radius:4px;background:#fff;cursor:pointer}
.actions button.primary{background:#007a5a;color:#fff}.actions button.danger{background:#e01e5a;color:#fff}
form{position:sticky;bottom:0;background:#fff;padding:8px 0;display:flex;gap:6px}input{flex:1;padding:8px}
img{max-width:360px;border:1px solid #ddd}#homeview{font-size:12px}
@media (max-width:600px){body{display:block;height:auto}main{overflow:visible;padding:8px}img{max-width:100%}}
</style></head><body>
<main><div id="messages"></div>
<form id="send"><select id="user"></select><input id="text" placeholder="/redis status" value="/redis status"><button>Send</button></form></main>
<aside><h3>Sandbox</h3><p id="link"></p><div id="breakers"></div><p id="slackmode"></p><div id="slackmodes"></div><p id="note"></p><button id="home">Open the Home tab</button><div id="homeview"></div></aside>
<script>
const esc=(s)=>String(s).replace(/[&<>"']/g,(c)=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const md=(s)=>esc(s).replace(/&amp;lt;/g,'&lt;').replace(/&amp;gt;/g,'&gt;').replace(/&amp;amp;/g,'&amp;')
  .replace(/\`\`\`([\\s\\S]*?)\`\`\`/g,'<pre>$1</pre>').replace(/\`([^\`]+)\`/g,'<code>$1</code>')
  .replace(/\\*([^*\\n]+)\\*/g,'<b>$1</b>').replace(/_([^_\\n]+)_/g,'<i>$1</i>')
  .replace(/&lt;@(\\w+)&gt;/g,'@$1').replace(/&lt;!date\\^\\d+\\^[^|]*\\|([^&]*)&gt;/g,'$1');
const EMOJI={red_circle:'🔴',large_green_circle:'🟢',large_orange_circle:'🟠',large_blue_circle:'🔵',white_check_mark:'✅',warning:'⚠️',
  wrench:'🔧',rotating_light:'🚨',arrows_counterclockwise:'🔄',gear:'⚙️',no_entry:'⛔',mute:'🔇',hourglass_flowing_sand:'⏳',
  inbox_tray:'📥',x:'❌',alarm_clock:'⏰',octagonal_sign:'🛑',books:'📚',raising_hand:'🙋',bell:'🔔',
  small_red_triangle_down:'🔻',arrow_up:'⬆️',loud_sound:'🔊'};
const emoji=(s)=>s.replace(/:([a-z_]+):/g,(m,n)=>EMOJI[n]||m);
const text=(t)=>!t?'':t.type==='plain_text'?emoji(esc(t.text)):md(emoji(t.text));
function block(b,m){
  if(b.type==='header')return '<div class="header">'+text(b.text)+'</div>';
  if(b.type==='divider')return '<hr>';
  if(b.type==='context')return '<div class="context">'+(b.elements||[]).map(text).join(' ')+'</div>';
  if(b.type==='image')return '<img alt="'+esc(b.alt_text||'')+'" src="'+esc(b.image_url||'')+'">';
  if(b.type==='section')return '<div class="section">'+text(b.text)+(b.fields?'<div class="fields">'+b.fields.map((f)=>'<div>'+text(f)+'</div>').join('')+'</div>':'')+'</div>';
  if(b.type==='actions')return '<div class="actions">'+(b.elements||[]).map((e)=>'<button class="'+(e.style||'')+'" data-action="'+esc(e.action_id)+'" data-value="'+esc(e.value||'')+'" data-ts="'+m.ts+'" data-confirm="'+esc(e.confirm?(e.confirm.title.text+': '+e.confirm.text.text):'')+'">'+text(e.text)+'</button>').join('')+'</div>';
  return '';
}
function render(m){
  const body=m.blocks&&m.blocks.length?m.blocks.map((b)=>block(b,m)).join(''):'<div class="section">'+md(emoji(m.text))+'</div>';
  const files=(m.files||[]).map((f)=>'<img alt="slot map" src="/files/'+f+'">').join('');
  return '<div class="msg'+(m.ephemeralTo?' eph':'')+'" data-ts="'+m.ts+'"><span class="who">'+esc(m.user)+'</span>'+(m.ephemeralTo?' <i>(only visible to '+esc(m.ephemeralTo)+')</i>':'')+body+files+'</div>';
}
let last='';
async function refresh(){
  const s=await (await fetch('/console/state')).json();
  const sel=document.getElementById('user');
  if(!sel.options.length){for(const u of s.users)sel.add(new Option(u.name+' ('+u.id+')',u.id));
    document.getElementById('breakers').innerHTML=s.breakers.map((b)=>'<button data-break="'+b+'">'+b+'</button>').join('');
    document.getElementById('slackmodes').innerHTML=s.slackModes.map((m)=>'<button data-slack="'+esc(m)+'">Slack: '+esc(m)+'</button>').join('');}
  for(const b of document.querySelectorAll('[data-slack]'))b.setAttribute('aria-pressed',String(b.dataset.slack===s.slackMode));
  document.getElementById('slackmode').textContent=s.slackMode?'Slack mode: '+s.slackMode:'';
  const me=sel.value;
  const top=s.messages.filter((m)=>!m.threadTs&&(!m.ephemeralTo||m.ephemeralTo===me));
  const html=top.map((m)=>render(m)+s.messages.filter((r)=>r.threadTs===m.ts).map((r)=>'<div class="thread">'+render(r)+'</div>').join('')).join('');
  if(html!==last){last=html;document.getElementById('messages').innerHTML=html;}
  document.getElementById('link').textContent=s.mode==='socket'?'Socket Mode: '+(s.connections?'bot connected':'bot not connected'):'HTTP mode';
  const home=s.homes[me];document.getElementById('homeview').innerHTML=home?(home.blocks||[]).map((b)=>block(b,{ts:''})).join(''):'';
}
const sent=(r)=>{if(r.status!==200)document.getElementById('note').textContent='Slack: the bot did not answer in 3 s ('+r.status+')';};
document.addEventListener('click',async(e)=>{
  const t=e.target;
  if(t.dataset.action){if(t.dataset.confirm&&!confirm(t.dataset.confirm))return;
    sent(await (await fetch('/console/click',{method:'POST',body:JSON.stringify({user:document.getElementById('user').value,actionId:t.dataset.action,value:t.dataset.value,ts:t.dataset.ts})})).json());}
  if(t.id==='home')sent(await (await fetch('/console/home',{method:'POST',body:JSON.stringify({user:document.getElementById('user').value})})).json());
  if(t.dataset.break){document.getElementById('note').textContent='running '+t.dataset.break+'…';
    const r=await (await fetch('/console/break/'+t.dataset.break,{method:'POST'})).json();document.getElementById('note').textContent=r.done||r.error;}
  if(t.dataset.slack){const r=await (await fetch('/console/slack/'+encodeURIComponent(t.dataset.slack),{method:'POST'})).json();
    document.getElementById('note').textContent=r.done||r.error;await refresh();}
});
document.getElementById('send').addEventListener('submit',async(e)=>{e.preventDefault();
  const v=document.getElementById('text').value.replace(/^\\/redis\\s*/,'');
  sent(await (await fetch('/console/slash',{method:'POST',body:JSON.stringify({user:document.getElementById('user').value,text:v})})).json());});
setInterval(refresh,500);refresh();
</script></body></html>`;
