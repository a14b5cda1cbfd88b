-- Neovim (0.7+) as an independent LSP client of `idreg lsp --stdio`: diagnostics with codes, hover,
-- definition and document symbols on a small trace. Run by test/nvim/run.mjs:
--   IDREG_LSP_CMD='node bin/idreg.js lsp --stdio' IDREG_NVIM_FILE=/tmp/x/vm.idtrace \
--   nvim --headless --clean -n -c 'luafile test/nvim/lsp-smoke.lua' < /dev/null
-- Uses only the 0.7 API (vim.lsp.start_client; vim.lsp.start is 0.8+).
local out = function(s) io.stdout:write(s .. '\n') end
local file = os.getenv('IDREG_NVIM_FILE')
local cmd = vim.split(os.getenv('IDREG_LSP_CMD') or 'node bin/idreg.js lsp --stdio', ' ', { trimempty = true })
local pass, fail = 0, 0
local function check(ok, what, detail)
  if ok then pass = pass + 1; out('ok   ' .. what) else fail = fail + 1; out('FAIL ' .. what .. (detail and (': ' .. detail) or '')) end
end

local diags
local id = vim.lsp.start_client({
  name = 'idreg',
  cmd = cmd,
  root_dir = vim.fn.fnamemodify(file, ':h'),
  handlers = {
    ['textDocument/publishDiagnostics'] = function(err, res, ctx, cfg)
      if res and #res.diagnostics > 0 then diags = res end
      return vim.lsp.diagnostic.on_publish_diagnostics(err, res, ctx, cfg)
    end,
  },
})
check(id ~= nil, 'server starts')
vim.cmd('edit ' .. file)
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, id)

-- 1. diagnostics with codes, severity and source
local got = vim.wait(15000, function() return diags ~= nil end, 20)
local codes = {}
if got then for _, d in ipairs(diags.diagnostics) do codes[#codes + 1] = tostring(d.code) end end
local has10 = false
for _, d in ipairs(got and diags.diagnostics or {}) do
  if d.code == 'IDR010' and d.source == 'idreg' and d.severity == 1 and d.range.start.line == 7 then has10 = true end
end
check(has10, 'diagnostic IDR010 (error, source idreg) on line 8', table.concat(codes, ','))
check(vim.tbl_contains(codes, 'IDR003'), 'diagnostic IDR003', table.concat(codes, ','))
check(#vim.diagnostic.get(buf) > 0, 'vim.diagnostic.get sees them')

local function request(method, params)
  local resp = vim.lsp.buf_request_sync(buf, method, params, 5000) or {}
  for _, r in pairs(resp) do if r.result then return r.result end end
  return nil
end
local td = { uri = vim.uri_from_bufnr(buf) }

-- 2. hover on the refused value: field table with the host limit
local hover = request('textDocument/hover', { textDocument = td, position = { line = 7, character = 33 } })
local text = hover and hover.contents and hover.contents.value or ''
check(text:match('| field | bits | value | meaning | host limit | policy |') ~= nil, 'hover shows the field table', text:sub(1, 200))
check(text:match('%-EINVAL') ~= nil, 'hover says what KVM does')

-- 3. definition from a guest read to the write that set the value
local def = request('textDocument/definition', { textDocument = td, position = { line = 9, character = 14 } })
local loc = def and (def[1] or def)
check(loc and loc.range and loc.range.start.line == 6, 'definition goes to the set on line 7')

-- 4. outline
local syms = request('textDocument/documentSymbol', { textDocument = td })
check(syms and syms[1] and syms[1].name == 'VM', 'document symbols start with the VM')

vim.lsp.stop_client(id)
out(string.format('nvim: %d passed, %d failed', pass, fail))
vim.cmd(fail == 0 and 'qa!' or 'cquit 1')
